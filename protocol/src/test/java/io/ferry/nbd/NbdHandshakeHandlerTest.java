package io.ferry.nbd;

import static io.ferry.nbd.NbdProtocol.*;
import static io.ferry.nbd.NbdWire.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NbdHandshakeHandlerTest {

    private static final int SIZE = 1 << 20;
    private static final int MAX_PAYLOAD = 32 << 20;

    private final NbdExportRegistry exports = new NbdExportRegistry();
    private EmbeddedNbd nbd;
    private DataInputStream in;

    @BeforeEach
    void connect() throws IOException {
        exports.put("disk", new MemoryBlockDevice(SIZE));
        exports.put("ro", new MemoryBlockDevice(SIZE, true, false));
        nbd = new EmbeddedNbd(exports, MAX_PAYLOAD);
        in = nbd.in();
        Greeting greeting = readGreeting(in);
        assertThat(greeting.magic()).isEqualTo(NBDMAGIC);
        assertThat(greeting.ihaveopt()).isEqualTo(IHAVEOPT);
        assertThat(greeting.flags()).isEqualTo(HANDSHAKE_FLAG_FIXED_NEWSTYLE | HANDSHAKE_FLAG_NO_ZEROES);
    }

    @AfterEach
    void close() {
        nbd.close();
    }

    @Test
    void goAnswersExportInfoAndBlockSizeThenEntersTransmission() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES),
                option(OPT_GO, goData("disk", INFO_BLOCK_SIZE)));

        OptionReply export = readOptionReply(in);
        assertThat(export.option()).isEqualTo(OPT_GO);
        assertThat(export.type()).isEqualTo(REP_INFO);
        assertThat(export.data()).hasSize(12);
        ByteBuffer info = export.buffer();
        assertThat(info.getShort()).isEqualTo((short) INFO_EXPORT);
        assertThat(info.getLong()).isEqualTo(SIZE);
        int flags = info.getShort() & 0xFFFF;
        assertThat(flags).isEqualTo(FLAG_HAS_FLAGS | FLAG_SEND_FLUSH | FLAG_SEND_FUA | FLAG_SEND_TRIM
                | FLAG_SEND_WRITE_ZEROES | FLAG_SEND_CACHE | FLAG_SEND_FAST_ZERO | FLAG_CAN_MULTI_CONN);

        OptionReply blockSize = readOptionReply(in);
        assertThat(blockSize.type()).isEqualTo(REP_INFO);
        assertThat(blockSize.data()).hasSize(14);
        ByteBuffer sizes = blockSize.buffer();
        assertThat(sizes.getShort()).isEqualTo((short) INFO_BLOCK_SIZE);
        assertThat(sizes.getInt()).isEqualTo(1);
        assertThat(sizes.getInt()).isEqualTo(4096);
        assertThat(sizes.getInt()).isEqualTo(MAX_PAYLOAD);

        OptionReply ack = readOptionReply(in);
        assertThat(ack.type()).isEqualTo(REP_ACK);
        assertThat(ack.data()).isEmpty();
        assertThat(nbd.channel.pipeline().get(NbdTransmissionHandler.class)).isNotNull();
        assertThat(nbd.channel.pipeline().get(NbdHandshakeHandler.class)).isNull();
    }

    @Test
    void goOnReadOnlyExportWithStructuredRepliesAdvertisesReadOnlyAndDf() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_STRUCTURED_REPLY, new byte[0]),
                option(OPT_GO, goData("ro")));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        ByteBuffer info = readOptionReply(in).buffer();
        info.getShort();
        info.getLong();
        int flags = info.getShort() & 0xFFFF;
        assertThat(flags & FLAG_READ_ONLY).isNotZero();
        assertThat(flags & FLAG_SEND_DF).isNotZero();
        assertThat(flags & FLAG_CAN_MULTI_CONN).isZero();
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
    }

    @Test
    void infoAnswersLikeGoButStaysInNegotiation() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_INFO, goData("disk", INFO_NAME)));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_INFO);
        OptionReply name = readOptionReply(in);
        assertThat(name.type()).isEqualTo(REP_INFO);
        assertThat(new String(name.data(), 2, name.data().length - 2, StandardCharsets.UTF_8)).isEqualTo("disk");
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        assertThat(nbd.channel.pipeline().get(NbdHandshakeHandler.class)).isNotNull();

        nbd.send(option(OPT_LIST, new byte[0]));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_SERVER);
    }

    @Test
    void goForUnknownExportAnswersErrUnknownAndKeepsNegotiating() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_GO, goData("nope")));
        OptionReply reply = readOptionReply(in);
        assertThat(reply.type()).isEqualTo(REP_ERR_UNKNOWN);
        assertThat(reply.text()).contains("nope");
        nbd.send(option(OPT_GO, goData("disk")));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_INFO);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
    }

    @Test
    void goWithNameLengthPastTheOptionAnswersErrInvalid() throws IOException {
        byte[] data = ByteBuffer.allocate(10).putInt(100).put("disk".getBytes(StandardCharsets.UTF_8))
                .putShort((short) 0).array();
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_GO, data));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ERR_INVALID);
        assertThat(nbd.channel.isActive()).isTrue();
    }

    @Test
    void emptyExportNameSelectsTheOnlyExport() throws IOException {
        exports.remove("ro");
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_GO, goData("")));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_INFO);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
    }

    @Test
    void exportNameRepliesSizeFlagsAndZeroPaddingUnlessNoZeroes() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8)));
        assertThat(in.readLong()).isEqualTo(SIZE);
        assertThat(in.readUnsignedShort() & FLAG_HAS_FLAGS).isNotZero();
        byte[] zeroes = new byte[124];
        in.readFully(zeroes);
        assertThat(zeroes).containsOnly(0);
        assertThat(nbd.nothingMoreWritten()).isTrue();
        assertThat(nbd.channel.pipeline().get(NbdTransmissionHandler.class)).isNotNull();
    }

    @Test
    void exportNameWithNoZeroesOmitsPadding() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES),
                option(OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8)));
        assertThat(in.readLong()).isEqualTo(SIZE);
        in.readUnsignedShort();
        assertThat(nbd.nothingMoreWritten()).isTrue();
    }

    @Test
    void exportNameForUnknownExportClosesTheConnection() {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8)));
        assertThat(nbd.nothingMoreWritten()).isTrue();
        assertThat(nbd.channel.isOpen()).isFalse();
    }

    @Test
    void listNamesEveryExportThenAcks() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_LIST, new byte[0]));
        List<String> names = new ArrayList<>();
        OptionReply reply;
        while ((reply = readOptionReply(in)).type() == REP_SERVER) {
            ByteBuffer data = reply.buffer();
            byte[] name = new byte[data.getInt()];
            data.get(name);
            names.add(new String(name, StandardCharsets.UTF_8));
        }
        assertThat(reply.type()).isEqualTo(REP_ACK);
        assertThat(names).containsExactly("disk", "ro");
    }

    @Test
    void listWithDataAnswersErrInvalid() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_LIST, new byte[3]));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ERR_INVALID);
    }

    @Test
    void abortIsAcknowledgedThenTheConnectionCloses() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_ABORT, new byte[0]));
        OptionReply reply = readOptionReply(in);
        assertThat(reply.option()).isEqualTo(OPT_ABORT);
        assertThat(reply.type()).isEqualTo(REP_ACK);
        nbd.channel.runPendingTasks();
        assertThat(nbd.channel.isOpen()).isFalse();
    }

    @Test
    void unknownOptionIsConsumedAndAnsweredUnsupported() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(4242, new byte[1000]), option(OPT_LIST, new byte[0]));
        OptionReply reply = readOptionReply(in);
        assertThat(reply.option()).isEqualTo(4242);
        assertThat(reply.type()).isEqualTo(REP_ERR_UNSUP);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_SERVER);
    }

    @Test
    void startTlsAndExtendedHeadersAreUnsupported() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_STARTTLS, new byte[0]),
                option(OPT_EXTENDED_HEADERS, new byte[0]));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ERR_UNSUP);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ERR_UNSUP);
        assertThat(nbd.channel.isActive()).isTrue();
    }

    @Test
    void optionLongerThanTheCapClosesWithoutReadingIt() {
        byte[] header = ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(OPT_GO)
                .putInt(NbdHandshakeHandler.MAX_OPTION_BYTES + 1).array();
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), header);
        assertThat(nbd.nothingMoreWritten()).isTrue();
        assertThat(nbd.channel.isOpen()).isFalse();
    }

    @Test
    void unknownClientFlagsClose() {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE | 0x100));
        assertThat(nbd.channel.isOpen()).isFalse();
    }

    @Test
    void badOptionMagicCloses() {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), filled(16, 0x42));
        assertThat(nbd.channel.isOpen()).isFalse();
    }

    @Test
    void optionsSplitAtEveryByteAreStillParsed() throws IOException {
        nbd.sendBytewise(concat(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_STRUCTURED_REPLY, new byte[0]),
                option(OPT_GO, goData("disk", INFO_BLOCK_SIZE))));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_INFO);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_INFO);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
    }

    @Test
    void setMetaContextSelectsBaseAllocationOnlyAfterStructuredReplies() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE),
                option(OPT_SET_META_CONTEXT, metaContextData("disk", META_CONTEXT_BASE_ALLOCATION)));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ERR_INVALID);

        nbd.send(option(OPT_STRUCTURED_REPLY, new byte[0]),
                option(OPT_SET_META_CONTEXT, metaContextData("disk", "qemu:dirty-bitmap:x", META_CONTEXT_BASE_ALLOCATION)));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        OptionReply context = readOptionReply(in);
        assertThat(context.type()).isEqualTo(REP_META_CONTEXT);
        ByteBuffer data = context.buffer();
        assertThat(data.getInt()).isEqualTo(NbdHandshakeHandler.BASE_ALLOCATION_CONTEXT_ID);
        assertThat(new String(data.array(), 4, data.remaining(), StandardCharsets.US_ASCII))
                .isEqualTo(META_CONTEXT_BASE_ALLOCATION);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
    }

    @Test
    void listMetaContextWithoutQueriesOffersBaseAllocation() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_STRUCTURED_REPLY, new byte[0]),
                option(OPT_LIST_META_CONTEXT, metaContextData("disk")),
                option(OPT_LIST_META_CONTEXT, metaContextData("disk", "other:thing")));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_META_CONTEXT);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
    }

    @Test
    void metaContextForUnknownExportAnswersErrUnknown() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_STRUCTURED_REPLY, new byte[0]),
                option(OPT_SET_META_CONTEXT, metaContextData("nope", META_CONTEXT_BASE_ALLOCATION)));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ERR_UNKNOWN);
    }

    @Test
    void exportsAddedAtRuntimeAreFoundByLaterNegotiations() throws IOException {
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_GO, goData("late")));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ERR_UNKNOWN);
        exports.put("late", new MemoryBlockDevice(4096));
        nbd.send(option(OPT_GO, goData("late")));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_INFO);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
    }
}
