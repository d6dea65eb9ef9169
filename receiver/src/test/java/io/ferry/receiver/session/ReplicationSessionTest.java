package io.ferry.receiver.session;

import io.ferry.replica.store.GroupTarget;
import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.delta.DeltaEncoder;
import io.ferry.delta.DeltaFormat;
import io.ferry.receiver.config.AllowedAgent;
import io.ferry.wire.Ack;
import io.ferry.wire.BlockHashes;
import io.ferry.wire.Bookmark;
import io.ferry.wire.SyncMark;
import io.ferry.wire.ControlMessage;
import io.ferry.wire.ErrorCode;
import io.ferry.wire.ErrorMessage;
import io.ferry.wire.FrameDecoder;
import io.ferry.wire.Frames;
import io.ferry.wire.GroupAck;
import io.ferry.wire.GroupHello;
import io.ferry.wire.Heartbeat;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Replication sessions in EmbeddedChannel (no TLS: the peer CN is injected), against fake groups. */
class ReplicationSessionTest {

    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    private static final long VOLUME_BYTES = 1 << 20;
    private static final List<VolumeInfo> DB_VOLUMES =
            List.of(new VolumeInfo("db-data", VOLUME_BYTES), new VolumeInfo("db-log", VOLUME_BYTES / 2));
    private static final SessionSettings SETTINGS = new SessionSettings(Duration.ofSeconds(10), 64 << 10, 128 << 10,
            1 << 20, 1 << 20);

    private FakeGroupTarget db;
    private FakeGroupTarget logs;
    private FakeGroupTarget mail;
    private Map<String, GroupLink> links;
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private final List<ByteBuf> sent = new ArrayList<>();

    @BeforeEach
    void createGroups() {
        db = new FakeGroupTarget("db");
        logs = new FakeGroupTarget("logs");
        mail = new FakeGroupTarget("mail");
        links = Map.of(
                "db", new GroupLink("db", "host-a", db),
                "logs", new GroupLink("logs", "host-a", logs),
                "mail", new GroupLink("mail", "host-b", mail));
    }

    @AfterEach
    void closeChannelsAndCheckEveryInboundBufferWasReleased() {
        for (EmbeddedChannel channel : channels) {
            channel.finishAndReleaseAll();
        }
        for (ByteBuf buf : sent) {
            assertThat(buf.refCnt()).as("inbound buffer released by the session").isZero();
        }
    }

    private EmbeddedChannel connect(String certificateCn) {
        PeerIdentity identity = certificateCn == null
                ? ctx -> {
                    throw new SSLPeerUnverifiedException("no certificate");
                }
                : ctx -> certificateCn;
        SessionContext context = new SessionContext("dr-1", SessionContext.byId(List.of(
                new AllowedAgent("host-a", List.of("db", "logs")),
                new AllowedAgent("host-b", List.of("mail")))), links, SETTINGS, identity, Runnable::run);
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(SETTINGS.maxHelloBytes()),
                new ReplicationSession(context));
        channels.add(channel);
        return channel;
    }

    private void send(EmbeddedChannel channel, ByteBuf frame) {
        sent.add(frame);
        channel.writeInbound(frame);
        channel.runPendingTasks();
    }

    private void send(EmbeddedChannel channel, ControlMessage message) {
        send(channel, message.encode(ALLOC));
    }

    private static Hello hello(String agentId, GroupHello... groups) {
        return new Hello(agentId, 1, 1, List.of(groups));
    }

    private static GroupHello dbGroup() {
        return new GroupHello("db", 7, DB_VOLUMES);
    }

    /** The next frame the session wrote, decoded; null when it wrote nothing. */
    private static ControlMessage received(EmbeddedChannel channel) {
        ByteBuf frame = channel.readOutbound();
        if (frame == null) {
            return null;
        }
        try {
            assertThat(frame.getInt(0)).isEqualTo(Frames.MAGIC);
            int type = frame.getUnsignedByte(5);
            assertThat(frame.getInt(8)).isEqualTo(frame.readableBytes() - Frames.HEADER_BYTES);
            return ControlMessage.decode(type, frame.slice(Frames.HEADER_BYTES, frame.readableBytes() - Frames.HEADER_BYTES));
        } finally {
            frame.release();
        }
    }

    private EmbeddedChannel establishedDbSession() {
        EmbeddedChannel channel = connect("host-a");
        send(channel, hello("host-a", dbGroup()));
        assertThat(received(channel)).isInstanceOf(HelloAck.class);
        return channel;
    }

    private static ByteBuf delta(String group, long firstSeq, long lastSeq, int volumeIndex, long offset, int length) {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin(group, 1);
        for (long seq = firstSeq; seq <= lastSeq; seq++) {
            byte[] data = new byte[length];
            Arrays.fill(data, (byte) seq);
            encoder.add(volumeIndex, DeltaFormat.WRITE, offset, length, seq, 1_000 * seq, ByteBuffer.wrap(data));
        }
        return encoder.encode(ALLOC);
    }

    private void assertRefused(EmbeddedChannel channel, ErrorCode code, String... textParts) {
        ControlMessage reply = received(channel);
        assertThat(reply).isInstanceOf(ErrorMessage.class);
        ErrorMessage error = (ErrorMessage) reply;
        assertThat(error.code()).isEqualTo(code);
        assertThat(error.text()).contains(textParts);
        assertThat(received(channel)).as("nothing after the ERROR").isNull();
        assertThat(channel.isOpen()).as("session closed").isFalse();
    }

    private void assertNoReplicaTouched() {
        for (FakeGroupTarget group : List.of(db, logs, mail)) {
            assertThat(group.appends()).isEmpty();
        }
    }

    // ---- admission ----

    @Test
    void shouldAnswerHelloWithEachGroupsDurableSeqAndGenerationId() {
        db.setGenerationId(1234);
        EmbeddedChannel channel = connect("host-a");

        send(channel, hello("host-a", dbGroup(), new GroupHello("logs", 8, List.of(new VolumeInfo("wal", 4096)))));

        HelloAck ack = (HelloAck) received(channel);
        assertThat(ack.version()).isEqualTo(Frames.VERSION);
        assertThat(ack.maxFrameBytes()).isEqualTo(SETTINGS.maxFrameBytes());
        assertThat(ack.groups()).containsExactly(
                new GroupAck("db", 0, 1234, GroupAck.STATUS_OK),
                new GroupAck("logs", 0, 42, GroupAck.STATUS_OK));
        assertThat(db.attachCalls()).containsExactly(DB_VOLUMES);
        assertThat(links.get("db").connected()).isTrue();
        assertThat(links.get("mail").connected()).isFalse();
        assertThat(channel.pipeline().get(FrameDecoder.class).maxBodyBytes()).isEqualTo(SETTINGS.maxFrameBytes());
        assertThat(channel.isOpen()).isTrue();
    }

    @Test
    void shouldRefuseAnyFrameBeforeHello() {
        EmbeddedChannel channel = connect("host-a");
        send(channel, new Heartbeat(5));
        assertRefused(channel, ErrorCode.MALFORMED, "first frame must be HELLO", "HEARTBEAT");
    }

    @Test
    void shouldRefuseADeltaBeforeHelloWithoutTouchingTheReplica() {
        EmbeddedChannel channel = connect("host-a");
        send(channel, delta("db", 1, 1, 0, 0, 4096));
        assertRefused(channel, ErrorCode.MALFORMED, "first frame must be HELLO");
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseAnAgentThatReceiverYamlDoesNotList() {
        EmbeddedChannel channel = connect("host-x");
        send(channel, hello("host-x", new GroupHello("db", 1, DB_VOLUMES)));
        assertRefused(channel, ErrorCode.UNKNOWN_AGENT, "host-x", "not listed");
        assertThat(db.attachCalls()).isEmpty();
        assertThat(links.get("db").connected()).isFalse();
    }

    @Test
    void shouldRefuseAHelloWhoseAgentIdIsNotTheCertificateCn() {
        EmbeddedChannel channel = connect("host-b");
        send(channel, hello("host-a", dbGroup()));
        assertRefused(channel, ErrorCode.UNKNOWN_AGENT, "\"host-a\"", "\"host-b\"");
        assertThat(db.attachCalls()).isEmpty();
    }

    @Test
    void shouldRefuseAHelloWithoutAVerifiedCertificate() {
        EmbeddedChannel channel = connect(null);
        send(channel, hello("host-a", dbGroup()));
        assertRefused(channel, ErrorCode.UNKNOWN_AGENT, "certificate");
    }

    @Test
    void shouldRefuseAGroupOwnedByAnotherAgentNamingIt() {
        EmbeddedChannel channel = connect("host-a");
        send(channel, hello("host-a", dbGroup(), new GroupHello("mail", 1, List.of(new VolumeInfo("box", 4096)))));
        assertRefused(channel, ErrorCode.GROUP_NOT_ALLOWED, "\"mail\"", "host-a");
        assertThat(db.attachCalls()).isEmpty();
        assertThat(mail.attachCalls()).isEmpty();
        assertThat(links.get("db").connected()).isFalse();
    }

    @Test
    void shouldRefuseAHelloWithoutACommonVersion() {
        EmbeddedChannel channel = connect("host-a");
        send(channel, new Hello("host-a", 2, 3, List.of(dbGroup())));
        assertRefused(channel, ErrorCode.UNSUPPORTED_VERSION, "2..3");
    }

    @Test
    void shouldRefuseVolumesThatDifferFromTheReplicas() throws Exception {
        db.attachVolumes(DB_VOLUMES);
        EmbeddedChannel channel = connect("host-a");
        send(channel, hello("host-a", new GroupHello("db", 7, List.of(new VolumeInfo("db-data", 2 * VOLUME_BYTES)))));
        assertRefused(channel, ErrorCode.MALFORMED, "group db", "do not match");
        assertThat(links.get("db").connected()).isFalse();
    }

    @Test
    void shouldCloseASessionThatSendsNoHelloWithinTheDeadline() {
        EmbeddedChannel channel = connect("host-a");
        channel.advanceTimeBy(SETTINGS.helloTimeout().toMillis() - 1, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).isTrue();

        channel.advanceTimeBy(1, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        assertRefused(channel, ErrorCode.MALFORMED, "no HELLO within");
    }

    @Test
    void shouldNotCloseAnEstablishedSessionAtTheHelloDeadline() {
        EmbeddedChannel channel = establishedDbSession();
        channel.advanceTimeBy(SETTINGS.helloTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).isTrue();
        assertThat(received(channel)).isNull();
    }

    // ---- framing ----

    @Test
    void shouldRefuseGarbageBytes() {
        EmbeddedChannel channel = connect("host-a");
        send(channel, Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes()));
        assertRefused(channel, ErrorCode.BAD_MAGIC, "FRRY");
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseAnOversizedFrameBeforeItsBodyArrives() {
        EmbeddedChannel channel = establishedDbSession();
        ByteBuf header = ALLOC.buffer(Frames.HEADER_BYTES);
        Frames.beginFrame(header, Frames.DELTA);
        header.setInt(8, SETTINGS.maxFrameBytes() + 1);
        send(channel, header);
        assertRefused(channel, ErrorCode.FRAME_TOO_LARGE, String.valueOf(SETTINGS.maxFrameBytes()));
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseAFrameOfUnknownType() {
        EmbeddedChannel channel = establishedDbSession();
        ByteBuf frame = ALLOC.buffer(Frames.HEADER_BYTES);
        Frames.beginFrame(frame, Frames.DELTA);
        frame.setByte(5, 99);
        send(channel, frame);
        assertRefused(channel, ErrorCode.UNKNOWN_TYPE, "99");
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseAReceiverOnlyMessageFromTheAgent() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, new Ack("db", 3));
        assertRefused(channel, ErrorCode.MALFORMED, "ACK");
    }

    // ---- deltas ----

    @Test
    void shouldAppendAValidDeltaAndAckItOnlyOnceDurable() {
        EmbeddedChannel channel = establishedDbSession();
        ByteBuf frame = delta("db", 1, 3, 1, 4096, 4096);
        int bodyBytes = frame.readableBytes() - Frames.HEADER_BYTES;

        send(channel, frame);

        assertThat(db.appends()).containsExactly(new FakeGroupTarget.Append(1, 3, 3_000, bodyBytes));
        assertThat(received(channel)).as("no ACK before the journal synced").isNull();
        db.sync();
        channel.runPendingTasks();
        assertThat(received(channel)).isEqualTo(new Ack("db", 3));
        assertThat(links.get("db").bytesReceived()).isEqualTo(bodyBytes);
        assertThat(links.get("db").lastDeltaFirstSeq()).isEqualTo(1);

        send(channel, delta("db", 4, 4, 0, 0, 512));
        send(channel, delta("db", 5, 6, 0, VOLUME_BYTES - 512, 512));
        db.sync();
        channel.runPendingTasks();
        assertThat(received(channel)).as("one ACK for the newest durable seq").isEqualTo(new Ack("db", 6));
        assertThat(received(channel)).isNull();
        assertThat(channel.isOpen()).isTrue();
    }

    @Test
    void shouldRefuseADeltaWithABadChecksum() {
        EmbeddedChannel channel = establishedDbSession();
        ByteBuf frame = delta("db", 1, 1, 0, 0, 4096);
        int last = frame.writerIndex() - 1;
        frame.setByte(last, frame.getByte(last) ^ 0x5a);
        send(channel, frame);
        assertRefused(channel, ErrorCode.BAD_CHECKSUM, "db");
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseASequenceGap() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, delta("db", 2, 2, 0, 0, 4096));
        assertRefused(channel, ErrorCode.SEQUENCE_GAP, "seq 2", "expected 1");
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseAReplayedDelta() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, delta("db", 1, 2, 0, 0, 4096));
        send(channel, delta("db", 2, 3, 0, 0, 4096));
        assertRefused(channel, ErrorCode.SEQUENCE_GAP, "expected 3");
        assertThat(db.appends()).hasSize(1);
    }

    @Test
    void shouldRefuseAnExtentPastTheEndOfItsVolume() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, delta("db", 1, 1, 1, VOLUME_BYTES / 2 - 512, 1024));
        assertRefused(channel, ErrorCode.MALFORMED, "db-log", "past the volume's size of " + VOLUME_BYTES / 2);
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseAnExtentOnAVolumeIndexTheGroupDoesNotHave() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, delta("db", 1, 1, 2, 0, 512));
        assertRefused(channel, ErrorCode.MALFORMED, "volume index 2", "2 volumes");
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseADeltaForAGroupTheSessionDidNotAnnounce() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, delta("logs", 1, 1, 0, 0, 512));
        assertRefused(channel, ErrorCode.GROUP_NOT_ALLOWED, "logs");
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseADeltaForAnotherAgentsGroup() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, delta("mail", 1, 1, 0, 0, 512));
        assertRefused(channel, ErrorCode.GROUP_NOT_ALLOWED, "mail");
        assertNoReplicaTouched();
    }

    @Test
    void shouldAnswerAHeartbeatWithItsTimestamp() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, new Heartbeat(123_456_789L));
        assertThat(received(channel)).isEqualTo(new Heartbeat(123_456_789L));
        assertThat(channel.isOpen()).isTrue();
    }

    @Test
    void shouldAcceptABookmarkOfItsOwnGroup() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, new Bookmark("db", 0, "before upgrade"));
        assertThat(received(channel)).isNull();
        assertThat(channel.isOpen()).isTrue();
    }

    @Test
    void shouldRefuseHashesOutsideTheVolumesOrAheadOfTheDeltas() {
        byte[] oneHash = new byte[BlockHashes.HASH_BYTES];
        int block = 64 << 10;
        Object[][] cases = {
            {new BlockHashes("db", 0, 7, 0, block, oneHash), "volume index 7"},
            {new BlockHashes("db", 0, 0, VOLUME_BYTES, block, oneHash), "which has " + VOLUME_BYTES + " bytes"},
            {new BlockHashes("db", 0, 0, 0, block, new byte[BlockHashes.HASH_BYTES * 17]), "cover 0.."},
            {new BlockHashes("db", 5, 0, 0, block, oneHash), "before the delta holding that seq"},
            {new BlockHashes("mail", 0, 0, 0, block, oneHash), "does not replicate"},
        };
        for (Object[] c : cases) {
            EmbeddedChannel channel = establishedDbSession();
            send(channel, (BlockHashes) c[0]);
            assertRefused(channel, ((BlockHashes) c[0]).group().equals("mail") ? ErrorCode.GROUP_NOT_ALLOWED
                    : ErrorCode.MALFORMED, (String) c[1]);
        }
        assertNoReplicaTouched();
    }

    @Test
    void shouldRefuseASyncMarkAheadOfItsDelta() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, new SyncMark("db", 9, SyncMark.END, SyncMark.INITIAL, 0, 0));
        assertRefused(channel, ErrorCode.MALFORMED, "before the delta holding that seq");
    }

    @Test
    void shouldCloseQuietlyWhenTheAgentSendsError() {
        EmbeddedChannel channel = establishedDbSession();
        send(channel, new ErrorMessage(ErrorCode.INTERNAL, "disk full"));
        assertThat(received(channel)).isNull();
        assertThat(channel.isOpen()).isFalse();
        assertThat(links.get("db").connected()).isFalse();
    }

    @Test
    void shouldStopReadingWhileTheJournalQueueIsFullAndResumeOnceDurable() {
        SessionContext tight = new SessionContext("dr-1", SessionContext.byId(List.of(
                new AllowedAgent("host-a", List.of("db", "logs")))), Map.of("db", links.get("db"),
                "logs", links.get("logs")), new SessionSettings(SETTINGS.helloTimeout(), SETTINGS.maxHelloBytes(),
                SETTINGS.maxFrameBytes(), SETTINGS.maxDeltaBytes(), 100), ctx -> "host-a", Runnable::run);
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(SETTINGS.maxHelloBytes()),
                new ReplicationSession(tight));
        channels.add(channel);
        send(channel, hello("host-a", dbGroup()));
        assertThat(received(channel)).isInstanceOf(HelloAck.class);

        send(channel, delta("db", 1, 1, 0, 0, 4096));
        assertThat(channel.config().isAutoRead()).as("paused above 100 queued bytes").isFalse();

        db.sync();
        channel.runPendingTasks();
        assertThat(received(channel)).isEqualTo(new Ack("db", 1));
        assertThat(channel.config().isAutoRead()).as("resumed once durable").isTrue();
    }

    // ---- reconnects ----

    @Test
    void shouldLetANewSessionTakeTheGroupOverAndCloseTheOlderOne() {
        EmbeddedChannel first = establishedDbSession();
        send(first, delta("db", 1, 1, 0, 0, 512));
        db.sync();
        first.runPendingTasks();
        assertThat(received(first)).isEqualTo(new Ack("db", 1));

        EmbeddedChannel second = connect("host-a");
        send(second, hello("host-a", dbGroup()));
        first.runPendingTasks();

        assertThat(((HelloAck) received(second)).groups().get(0).durableSeq()).isEqualTo(1);
        assertThat(first.isOpen()).isFalse();
        assertThat(links.get("db").connected()).isTrue();

        send(second, delta("db", 2, 2, 0, 0, 512));
        assertThat(db.appends()).hasSize(2);
    }

    @Test
    void shouldAnswerHelloOnlyOnceEarlierAppendsAreDurable() {
        EmbeddedChannel first = establishedDbSession();
        send(first, delta("db", 1, 4, 0, 0, 512));
        first.close();

        EmbeddedChannel second = connect("host-a");
        send(second, hello("host-a", dbGroup()));
        assertThat(received(second)).as("HELLO_ACK waits for the journal").isNull();

        db.sync();
        second.runPendingTasks();
        assertThat(((HelloAck) received(second)).groups()).containsExactly(new GroupAck("db", 4, 42, GroupAck.STATUS_OK));
        send(second, delta("db", 5, 5, 0, 0, 512));
        assertThat(db.appends()).hasSize(2);
    }

    @Test
    void shouldRefuseHelloForAFailedGroup() {
        db.fail("journal: No space left on device");
        EmbeddedChannel channel = connect("host-a");
        send(channel, hello("host-a", dbGroup()));
        assertRefused(channel, ErrorCode.INTERNAL, "group db", "No space left");
    }

    @Test
    void shouldReleaseTheGroupWhenTheConnectionCloses() {
        EmbeddedChannel channel = establishedDbSession();
        assertThat(links.get("db").connected()).isTrue();
        channel.close();
        assertThat(links.get("db").connected()).isFalse();
    }
}
