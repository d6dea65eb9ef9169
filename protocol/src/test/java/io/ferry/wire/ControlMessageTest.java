package io.ferry.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class ControlMessageTest {

    private static final Hello HELLO = new Hello("agent-1", 1, 1, List.of(
            new GroupHello("db", 0x1234_5678_9abc_def0L, List.of(new VolumeInfo("data", 1L << 40), new VolumeInfo("log.1", 0))),
            new GroupHello("empty_group", -1, List.of())));
    private static final HelloAck HELLO_ACK = new HelloAck(1, Frames.DEFAULT_MAX_FRAME_BYTES, List.of(
            new GroupAck("db", 77, 5, GroupAck.STATUS_OK),
            new GroupAck("old", 0, 6, GroupAck.STATUS_PROMOTED),
            new GroupAck("other", 0, 0, GroupAck.STATUS_NOT_ALLOWED)));

    @Test
    void shouldRoundTripEveryControlMessage() {
        List<ControlMessage> messages = List.of(
                HELLO,
                new Hello("a", 1, 3, List.of()),
                HELLO_ACK,
                new Ack("db", 0),
                new Ack("db", Long.MAX_VALUE),
                new Heartbeat(Long.MIN_VALUE),
                new ErrorMessage(ErrorCode.GROUP_PROMOTED, "group db was promoted on receiver r1 — fenced"),
                new ErrorMessage(ErrorCode.INTERNAL, ""),
                new Bookmark("db", 12, "nightly ✓"),
                new SyncMark("db", 7, SyncMark.BEGIN, SyncMark.INITIAL, 1L << 40, 0),
                new SyncMark("db", 9, SyncMark.END, SyncMark.RESYNC, 4096, 4096));
        for (ControlMessage m : messages) {
            ByteBuf frame = m.encode(ByteBufAllocator.DEFAULT);
            try {
                assertThat(frame.getInt(0)).isEqualTo(Frames.MAGIC);
                assertThat(frame.getUnsignedByte(4)).isEqualTo((short) Frames.VERSION);
                assertThat(frame.getUnsignedByte(5)).isEqualTo((short) m.frameType());
                assertThat(frame.getUnsignedShort(6)).isZero();
                assertThat(frame.getInt(8)).isEqualTo(frame.readableBytes() - Frames.HEADER_BYTES);
                ByteBuf body = frame.slice(Frames.HEADER_BYTES, frame.readableBytes() - Frames.HEADER_BYTES);
                assertThat(ControlMessage.decode(m.frameType(), body)).isEqualTo(m);
            } finally {
                frame.release();
            }
        }
    }

    @Test
    void shouldCutAnOverlongErrorTextSoTheErrorCanStillBeSent() {
        ErrorMessage error = new ErrorMessage(ErrorCode.INTERNAL, "x".repeat(5000));
        assertThat(error.text()).hasSize(ErrorMessage.MAX_TEXT_CHARS);
        assertThat(roundTrip(error, ErrorMessage::decode)).isEqualTo(error);
    }

    @Test
    void shouldRefuseASyncMarkWhoseFieldsAreOutOfRange() {
        for (int[] bad : new int[][] {{0, 1}, {4, 1}, {1, 0}, {1, 3}}) {
            ByteBuf frame = new SyncMark("g", 1, SyncMark.BEGIN, SyncMark.INITIAL, 8, 0).encode(ByteBufAllocator.DEFAULT);
            int phaseAt = Frames.HEADER_BYTES + 2 + 8;
            frame.setByte(phaseAt, bad[0]);
            frame.setByte(phaseAt + 1, bad[1]);
            assertMalformed(frame.skipBytes(Frames.HEADER_BYTES), SyncMark::decode, bad[0] == 0 || bad[0] == 4
                    ? "phase" : "kind");
        }
        ByteBuf overDone = new SyncMark("g", 1, SyncMark.PROGRESS, SyncMark.INITIAL, 8, 8).encode(ByteBufAllocator.DEFAULT);
        overDone.setLong(overDone.writerIndex() - 8, 9);
        assertMalformed(overDone.skipBytes(Frames.HEADER_BYTES), SyncMark::decode, "doneBytes 9 of totalBytes 8");
    }

    @Test
    void shouldKeepErrorCodesStable() {
        assertThat(ErrorCode.BAD_MAGIC.wireCode()).isEqualTo(1);
        assertThat(ErrorCode.INTERNAL.wireCode()).isEqualTo(11);
        for (ErrorCode c : ErrorCode.values()) {
            assertThat(ErrorCode.ofWireCode(c.wireCode())).isSameAs(c);
        }
        assertThat(ErrorCode.ofWireCode(0)).isNull();
        assertThat(ErrorCode.GENERATION_MISMATCH.wireCode()).isEqualTo(12);
        assertThat(ErrorCode.ofWireCode(13)).isNull();
    }

    @Test
    void shouldRefuseTrailingBytesAfterEveryMessage() {
        for (ControlMessage m : List.of(HELLO, HELLO_ACK, new Ack("g", 1), new Heartbeat(1),
                new ErrorMessage(ErrorCode.MALFORMED, "t"), new Bookmark("g", 1, "l"),
                new SyncMark("g", 1, SyncMark.PROGRESS, SyncMark.INITIAL, 8, 4))) {
            ByteBuf frame = m.encode(ByteBufAllocator.DEFAULT);
            frame.skipBytes(Frames.HEADER_BYTES).writeByte(0);
            assertMalformed(frame, b -> ControlMessage.decode(m.frameType(), b), "1 trailing bytes");
        }
    }

    @Test
    void shouldRefuseEveryTruncationOfEveryMessage() {
        for (ControlMessage m : List.of(HELLO, HELLO_ACK, new Ack("g", 1), new Heartbeat(1),
                new ErrorMessage(ErrorCode.MALFORMED, "text"), new Bookmark("g", 1, "label"),
                new SyncMark("g", 1, SyncMark.PROGRESS, SyncMark.INITIAL, 8, 4))) {
            ByteBuf frame = m.encode(ByteBufAllocator.DEFAULT);
            int bodyLength = frame.readableBytes() - Frames.HEADER_BYTES;
            for (int cut = 0; cut < bodyLength; cut++) {
                ByteBuf body = frame.slice(Frames.HEADER_BYTES, cut);
                assertThatThrownBy(() -> ControlMessage.decode(m.frameType(), body))
                        .as("%s cut to %d bytes", m, cut)
                        .isInstanceOfSatisfying(ProtocolException.class,
                                e -> assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED));
            }
            frame.release();
        }
    }

    @Test
    void shouldRefuseATruncatedName() {
        ByteBuf body = Unpooled.buffer().writeByte(10).writeBytes("abc".getBytes(StandardCharsets.US_ASCII));
        assertMalformed(body, Ack::decode, "group", "needs 10 bytes, 3 left");
    }

    @Test
    void shouldRefuseNamesOutsideTheAllowedCharacters() {
        assertMalformed(ack("../x"), Ack::decode, "group has byte 0x2f");
        assertMalformed(ack(".."), Ack::decode, "\"..\" is not a valid name");
        assertMalformed(Unpooled.buffer().writeByte(0).writeLong(1), Ack::decode, "group length is 0");
        assertMalformed(Unpooled.buffer().writeByte(65).writeBytes(new byte[65]).writeLong(1), Ack::decode,
                "group length is 65");
        assertMalformed(Unpooled.buffer().writeByte(2).writeByte(0xc3).writeByte(0xa9).writeLong(1), Ack::decode,
                "byte 0xc3");
    }

    @Test
    void shouldRefuseANegativeDurableSeq() {
        assertMalformed(ack("g").writeLong(-1), Ack::decode, "durableSeq is -1");
    }

    @Test
    void shouldRefuseAGroupCountBeyondTheBytesLeftBeforeAllocating() {
        ByteBuf body = Unpooled.buffer().writeBytes(name("agent")).writeByte(1).writeByte(1).writeShort(1000);
        assertMalformed(body, Hello::decode, "groupCount is 1000 but only 0 body bytes are left");
    }

    @Test
    void shouldRefuseAVolumeCountOverTheMaximum() {
        ByteBuf body = Unpooled.buffer().writeBytes(name("agent")).writeByte(1).writeByte(1).writeShort(1)
                .writeBytes(name("g")).writeLong(0).writeShort(GroupHello.MAX_VOLUMES + 1).writeZero(26);
        assertMalformed(body, Hello::decode, "groups[0].volumeCount is 1025, the maximum is 1024");
    }

    @Test
    void shouldRefuseAnInvertedVersionRange() {
        ByteBuf body = Unpooled.buffer().writeBytes(name("agent")).writeByte(3).writeByte(2).writeShort(0);
        assertMalformed(body, Hello::decode, "versions 3..2");
    }

    @Test
    void shouldRefuseTheSameGroupTwice() {
        ByteBuf body = Unpooled.buffer().writeBytes(name("agent")).writeByte(1).writeByte(1).writeShort(2)
                .writeBytes(name("g")).writeLong(7).writeShort(0).writeBytes(history(7)).writeLong(0)
                .writeBytes(name("g")).writeLong(7).writeShort(0).writeBytes(history(7)).writeLong(0);
        assertMalformed(body, Hello::decode, "group g is listed twice");
    }

    @Test
    void shouldRefuseANegativeVolumeSize() {
        ByteBuf body = Unpooled.buffer().writeBytes(name("agent")).writeByte(1).writeByte(1).writeShort(1)
                .writeBytes(name("g")).writeLong(0).writeShort(1).writeBytes(name("v")).writeLong(-5).writeZero(26);
        assertMalformed(body, Hello::decode, "groups[0].volumes[0].sizeBytes is -5");
    }

    @Test
    void shouldRefuseAnUnknownGroupStatus() {
        ByteBuf body = Unpooled.buffer().writeByte(1).writeInt(1 << 20).writeShort(1)
                .writeBytes(name("g")).writeLong(0).writeLong(0).writeByte(5).writeBytes(history(7));
        assertMalformed(body, HelloAck::decode, "status is 5");
    }

    @Test
    void shouldRefuseATinyMaxFrameBytes() {
        ByteBuf body = Unpooled.buffer().writeByte(1).writeInt(100).writeShort(0);
        assertMalformed(body, HelloAck::decode, "maxFrameBytes is 100");
    }

    @Test
    void shouldRefuseAnUnknownErrorCode() {
        ByteBuf body = Unpooled.buffer().writeShort(999).writeShort(0);
        assertMalformed(body, ErrorMessage::decode, "code 999");
    }

    @Test
    void shouldRefuseAnOverlongLabel() {
        ByteBuf body = ack("g").writeLong(1).writeShort(300).writeBytes(new byte[300]);
        assertMalformed(body, Bookmark::decode, "label length is 300 bytes, the maximum is 256");
    }

    @Test
    void shouldRefuseADeltaFrameAsAControlMessage() {
        assertThatThrownBy(() -> ControlMessage.decode(Frames.DELTA, Unpooled.EMPTY_BUFFER))
                .isInstanceOfSatisfying(ProtocolException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_TYPE));
    }

    @Test
    void shouldValidateFieldsWhenBuilt() {
        assertThatThrownBy(() -> new Ack("bad/name", 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad/name");
        assertThatThrownBy(() -> new GroupAck("g", 1, 1, 9)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Bookmark("g", 1, "é".repeat(200))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("400 bytes");
        assertThatThrownBy(() -> new GroupHello("g", 1, List.of(new VolumeInfo("v", 1), new VolumeInfo("v", 2))))
                .hasMessageContaining("volume v twice");
    }

    @Test
    void shouldFindAProtocolExceptionInACauseChain() {
        ProtocolException pe = new ProtocolException(ErrorCode.MALFORMED, "x");
        assertThat(ProtocolException.find(new RuntimeException(new IllegalStateException(pe)))).isSameAs(pe);
        assertThat(ProtocolException.find(new RuntimeException())).isNull();
    }

    @Test
    void shouldCarryGenerationChainsInHelloAndHelloAck() {
        io.ferry.generation.GenerationHistory chain = io.ferry.generation.GenerationHistory.of(0x11).begin(0x22, 500)
                .begin(0x33, 900);
        Hello hello = new Hello("a", 1, 1, List.of(new GroupHello("g", 0x33, List.of(new VolumeInfo("v", 4096)), chain,
                950)));
        HelloAck ack = new HelloAck(1, Frames.DEFAULT_MAX_FRAME_BYTES, List.of(new GroupAck("g", 900, 0x44,
                GroupAck.STATUS_PROMOTED, chain.begin(0x44, 900))));

        assertThat(roundTrip(hello, Hello::decode)).isEqualTo(hello);
        assertThat(roundTrip(ack, HelloAck::decode)).isEqualTo(ack);
        assertThatThrownBy(() -> new GroupHello("g", 0x22, List.of(), chain, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not the generation id 22");
    }

    @Test
    void shouldRefuseAGenerationChainThatGoesBackInSeqs() {
        ByteBuf body = Unpooled.buffer().writeByte(1).writeInt(1 << 20).writeShort(1)
                .writeBytes(name("g")).writeLong(0).writeLong(0).writeByte(0)
                .writeShort(2).writeLong(1).writeLong(50).writeLong(2).writeLong(10);
        assertMalformed(body, HelloAck::decode, "groups[0].history", "starts at seq 10, before the one it follows (50)");
    }

    @Test
    void shouldRefuseAGenerationIdOfZeroInAChain() {
        ByteBuf body = Unpooled.buffer().writeByte(1).writeInt(1 << 20).writeShort(1)
                .writeBytes(name("g")).writeLong(0).writeLong(0).writeByte(0).writeBytes(history(0));
        assertMalformed(body, HelloAck::decode, "a generation id is never 0");
    }

    private static ByteBuf history(long id) {
        return Unpooled.buffer().writeShort(1).writeLong(id).writeLong(0);
    }

    private static ByteBuf ack(String group) {
        return Unpooled.buffer().writeBytes(name(group));
    }

    private static ByteBuf name(String name) {
        byte[] b = name.getBytes(StandardCharsets.US_ASCII);
        return Unpooled.buffer().writeByte(b.length).writeBytes(b);
    }

    private static <T> T roundTrip(ControlMessage m, Function<ByteBuf, T> decode) {
        ByteBuf frame = m.encode(ByteBufAllocator.DEFAULT);
        try {
            return decode.apply(frame.skipBytes(Frames.HEADER_BYTES));
        } finally {
            frame.release();
        }
    }

    private static void assertMalformed(ByteBuf body, Consumer<ByteBuf> decode, String... messageParts) {
        try {
            assertThatThrownBy(() -> decode.accept(body))
                    .isInstanceOfSatisfying(ProtocolException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED);
                        for (String part : messageParts) {
                            assertThat(e.getMessage()).contains(part);
                        }
                    });
        } finally {
            body.release();
        }
    }
}
