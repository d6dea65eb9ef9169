package io.ferry.capture.ship;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.capture.pipeline.InMemoryJournal;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.nbd.NbdErrors;
import io.ferry.volume.VolumeFile;
import io.ferry.wire.Frames;
import io.ferry.wire.GroupAck;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One group's shipping driven by hand: the test is the shipper thread (it calls pump and the
 * link events), plays the receiver through a {@link FakeLink} and drives the clock.
 */
class GroupShipperTest {
    private static final long SIZE = 1 << 20;
    private static final long T0 = 1_000_000_000_000L;
    private static final long MS = 1_000_000L;
    private static final long S = 1_000 * MS;
    private static final long GENERATION = 77;

    @TempDir
    Path dir;

    private final AtomicLong now = new AtomicLong(T0);
    private final FakeLink link = new FakeLink();
    private final ByteBufAllocator alloc = UnpooledByteBufAllocator.DEFAULT;
    private final Random random = new Random(11);
    private InMemoryJournal journal;
    private VolumeFile file;
    private WritePipeline pipeline;
    private GroupShipper shipper;

    @BeforeEach
    void start() throws Exception {
        journal = new InMemoryJournal();
        file = VolumeFile.openOrCreate(dir.resolve("vol.img"), SIZE);
        pipeline = WritePipeline.start("g", List.of("vol"), List.of(file), journal, now::get, 64);
    }

    @AfterEach
    void stop() {
        if (shipper != null) {
            shipper.close();
        }
        pipeline.close();
        file.close();
    }

    private GroupShipper shipper(long rpoNanos, long maxDeltaBytes, long maxInFlightBytes) {
        shipper = new GroupShipper("g", journal, pipeline, List.of(new VolumeInfo("vol", SIZE)), GENERATION, rpoNanos,
                maxDeltaBytes, maxInFlightBytes, now::get);
        return shipper;
    }

    private GroupShipper shipper(long rpoNanos) {
        return shipper(rpoNanos, 8L << 20, 64L << 20);
    }

    /** A write of random (incompressible) bytes through the pipeline, captured at the clock's now. */
    private void write(long offset, int length) throws Exception {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        CompletableFuture<Integer> done = new CompletableFuture<>();
        pipeline.submitWrite(0, offset, Unpooled.wrappedBuffer(bytes), false, done::complete);
        assertThat(done.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);
    }

    private static GroupAck ack(long durableSeq) {
        return new GroupAck("g", durableSeq, GENERATION, GroupAck.STATUS_OK);
    }

    private boolean pumpAt(long nanos) {
        now.set(nanos);
        return shipper.pump(link, alloc, nanos);
    }

    /**
     * A checksum sync while writes go on: every HASHES goes out after the delta holding its seq
     * and before any later one (the receiver hashes at exactly that seq), and the sync ends with
     * END once every region was answered. Many rounds, so that region reads race with writes.
     */
    @org.junit.jupiter.api.RepeatedTest(25)
    void shouldSendEveryHashesBetweenTheDeltasBeforeAndAfterItsSeq() throws Exception {
        byte[] existing = new byte[(int) SIZE];
        random.nextBytes(existing);
        file.write(0, java.nio.ByteBuffer.wrap(existing)); // data the volume held before protection
        shipper(100 * MS);
        shipper.syncSource(new ShippedGroup.SyncSource(List.of(file), false, 0));
        shipper.onHelloAck(1, new GroupAck("g", 0, GENERATION, GroupAck.STATUS_SYNC_ALL));
        long t = T0;
        int answered = 0;
        for (int round = 0; round < 400 && link.sent().stream().noneMatch(x -> "phase 3".equals(x.label())); round++) {
            write((long) random.nextInt((int) (SIZE / 4096)) * 4096, 4096);
            t += 20 * MS;
            pumpAt(t);
            List<FakeLink.Sent> sent = link.sent();
            for (; answered < sent.size(); answered++) {
                FakeLink.Sent x = sent.get(answered);
                if (x.type() == Frames.HASHES) {
                    long offset = Long.parseLong(x.label().substring("offset ".length()));
                    shipper.onDiff(1, new io.ferry.wire.BlockDiff("g", x.firstSeq(), 0, offset,
                            Math.min(SIZE, offset + (long) x.extents() * io.ferry.capture.sync.GroupSync.HASH_BLOCK_BYTES),
                            List.of()));
                } else if (x.isDelta()) {
                    shipper.onAck(1, x.lastSeq());
                }
            }
        }
        List<FakeLink.Sent> sent = link.sent();
        assertThat(sent).filteredOn(x -> x.type() == Frames.HASHES).hasSize(1); // 1 MiB: one region
        assertThat(sent).filteredOn(x -> "phase 3".equals(x.label())).as("END").hasSize(1);
        for (int i = 0; i < sent.size(); i++) {
            FakeLink.Sent x = sent.get(i);
            if (x.type() != Frames.HASHES) {
                continue; // a SYNC mark may come late: END at e holds for every seq after e too
            }
            for (int j = 0; j < sent.size(); j++) {
                FakeLink.Sent d = sent.get(j);
                if (d.isDelta() && j < i) {
                    assertThat(d.lastSeq()).as("delta before the mark at %d", x.firstSeq()).isLessThanOrEqualTo(x.firstSeq());
                } else if (d.isDelta() && j > i) {
                    assertThat(d.firstSeq()).as("delta after the mark at %d", x.firstSeq()).isGreaterThan(x.firstSeq());
                }
            }
        }
        pumpAt(t + 20 * MS);
        assertThat(shipper.syncStatus(t)).as("the sync ended once END went out after acknowledged deltas").isNull();
    }

    @Test
    void shouldHoldRecordsForTheCoalescingWindowThenShipThemAsOneDelta() throws Exception {
        shipper(10 * S); // window: a tenth of the RPO, 1 s
        write(0, 4096);
        write(16384, 4096);
        write(65536, 512);
        shipper.onHelloAck(1, ack(0));

        assertThat(pumpAt(T0)).isTrue(); // read the journal
        assertThat(pumpAt(T0 + 999 * MS)).isFalse();
        assertThat(link.sent()).isEmpty();
        assertThat(pumpAt(T0 + S)).isTrue();

        assertThat(link.sent()).containsExactly(new FakeLink.Sent(1, Frames.DELTA, "g", 1, 3, null, 3));
        assertThat(shipper.state()).isEqualTo(GroupShipper.REPLICATING);
    }

    @Test
    void shouldCloseADeltaAtItsSizeBoundWithoutWaitingForTheWindow() throws Exception {
        shipper(10 * S, 8192, 64L << 20);
        write(0, 4096);
        write(4096, 4096);
        write(8192, 4096);
        shipper.onHelloAck(1, ack(0));

        pumpAt(T0);
        assertThat(link.deltas("g")).extracting(FakeLink.Sent::firstSeq, FakeLink.Sent::lastSeq)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1L, 2L));
        pumpAt(T0 + S);
        assertThat(link.deltas("g")).extracting(FakeLink.Sent::lastSeq).containsExactly(2L, 3L);
    }

    @Test
    void shouldKeepNoMoreThanTheInFlightBoundUnacknowledged() throws Exception {
        shipper(10 * S, 4096, 1);
        write(0, 4096);
        write(4096, 4096);
        write(8192, 4096);
        shipper.onHelloAck(1, ack(0));

        pumpAt(T0);
        pumpAt(T0 + 5 * S);
        assertThat(link.deltas("g")).extracting(FakeLink.Sent::lastSeq).containsExactly(1L);
        shipper.onAck(1, 1);
        pumpAt(T0 + 5 * S);
        assertThat(link.deltas("g")).extracting(FakeLink.Sent::lastSeq).containsExactly(1L, 2L);
        shipper.onAck(1, 2);
        pumpAt(T0 + 5 * S);
        assertThat(link.deltas("g")).extracting(FakeLink.Sent::lastSeq).containsExactly(1L, 2L, 3L);
    }

    @Test
    void shouldReportTheAgeOfTheOldestUnacknowledgedWriteAndAnRpoBreachUntilTheAckComes() throws Exception {
        shipper(10 * S);
        write(0, 4096);
        now.set(T0 + 2 * S);
        write(4096, 4096);
        shipper.onHelloAck(1, ack(0));

        pumpAt(T0 + 10 * S); // ships 1..2; the oldest write is exactly one RPO old
        assertThat(shipper.lagNanos(T0 + 10 * S)).isEqualTo(10 * S);
        assertThat(shipper.breach()).isFalse();
        assertThat(shipper.state()).isEqualTo(GroupShipper.REPLICATING);

        pumpAt(T0 + 10 * S + 1);
        assertThat(shipper.breach()).isTrue();
        assertThat(shipper.state()).isEqualTo(GroupShipper.BEHIND);
        assertThat(journal.releasedSeq()).isZero();

        shipper.onAck(1, 2);
        pumpAt(T0 + 12 * S);
        assertThat(shipper.lagNanos(T0 + 12 * S)).isZero();
        assertThat(shipper.breach()).isFalse();
        assertThat(shipper.state()).isEqualTo(GroupShipper.REPLICATING);
        assertThat(shipper.ackedSeq()).isEqualTo(2);
        // the release runs on the pipeline thread, in order with the writes
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> journal.releasedSeq() == 2);
        assertThat(shipper.worstLagNanos()).isGreaterThan(10 * S);
    }

    @Test
    void shouldLetTheLagGrowFromTheJournalWhileDisconnectedAndResumeFromTheDurableSeq() throws Exception {
        shipper(10 * S);
        write(0, 4096);
        write(4096, 4096);
        pumpAt(T0 + 3 * S);
        assertThat(shipper.state()).isEqualTo(GroupShipper.DISCONNECTED);
        assertThat(shipper.lagNanos(T0 + 3 * S)).isEqualTo(3 * S);

        shipper.onHelloAck(1, ack(0));
        pumpAt(T0 + 4 * S);
        assertThat(link.deltas("g")).extracting(FakeLink.Sent::lastSeq).containsExactly(2L);
        shipper.onDisconnected(1);
        assertThat(shipper.state()).isEqualTo(GroupShipper.DISCONNECTED);

        // The receiver kept seq 1 only: the next session resends from seq 2.
        write(65536, 4096);
        shipper.onHelloAck(2, ack(1));
        pumpAt(T0 + 6 * S);
        assertThat(link.sent()).last().isEqualTo(new FakeLink.Sent(2, Frames.DELTA, "g", 2, 3, null, 2));
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> journal.releasedSeq() == 1);
        // A late ACK of the old connection changes nothing.
        shipper.onAck(1, 3);
        assertThat(shipper.ackedSeq()).isEqualTo(1);
    }

    @Test
    void shouldSendABookmarkRightAfterTheDeltaHoldingItsSeqAndResendItUntilAcknowledged() throws Exception {
        shipper(10 * S);
        write(0, 4096);
        write(16384, 4096);
        assertThat(shipper.reserveBookmark()).isTrue();
        shipper.bookmark(2, "before-upgrade");
        write(8192, 4096);
        shipper.onHelloAck(1, ack(0));

        pumpAt(T0);
        assertThat(link.sent()).containsExactly(
                new FakeLink.Sent(1, Frames.DELTA, "g", 1, 2, null, 2),
                new FakeLink.Sent(1, Frames.BOOKMARK, "g", 2, 2, "before-upgrade", 0));

        // Lost before the receiver acknowledged seq 2: the next session sends it again.
        shipper.onDisconnected(1);
        link.clear();
        shipper.onHelloAck(2, ack(2));
        pumpAt(T0 + S);
        assertThat(link.sent()).containsExactly(
                new FakeLink.Sent(2, Frames.BOOKMARK, "g", 2, 2, "before-upgrade", 0),
                new FakeLink.Sent(2, Frames.DELTA, "g", 3, 3, null, 1));

        shipper.onAck(2, 3);
        shipper.onDisconnected(2);
        link.clear();
        shipper.onHelloAck(3, ack(3));
        pumpAt(T0 + 2 * S);
        assertThat(link.sent()).isEmpty();
    }

    @Test
    void shouldRefuseBookmarksBeyondTheBacklogBoundUntilSomeAreAcknowledged() throws Exception {
        shipper(10 * S);
        write(0, 512);
        for (int i = 0; i < GroupShipper.MAX_PENDING_BOOKMARKS; i++) {
            assertThat(shipper.reserveBookmark()).isTrue();
            shipper.bookmark(1, "b" + i);
        }
        assertThat(shipper.reserveBookmark()).isFalse();

        shipper.onHelloAck(1, ack(0));
        pumpAt(T0 + S);
        shipper.onAck(1, 1);
        assertThat(shipper.reserveBookmark()).isTrue();
    }

    @Test
    void shouldHoldASynchronousWritesAnswerUntilTheReceiverAcknowledgesItsSeq() throws Exception {
        shipper(0);
        assertThat(shipper.synchronous()).isTrue();
        pipeline.ackGate(shipper);
        shipper.onHelloAck(1, ack(0));

        CompletableFuture<Integer> first = submit(0);
        CompletableFuture<Integer> second = submit(4096);
        // both are journaled: seq 2 exists once the pipeline got to it
        org.awaitility.Awaitility.await().until(() -> pipeline.capturedSeq() == 2);
        pumpAt(T0); // rpo 0s: no coalescing window
        assertThat(link.deltas("g")).extracting(FakeLink.Sent::lastSeq).containsExactly(2L);
        assertThat(first).isNotDone();
        assertThat(second).isNotDone();

        shipper.onAck(1, 1);
        assertThat(first.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);
        assertThat(second).isNotDone();
        shipper.onAck(1, 2);
        assertThat(second.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);

        // Disconnected, the volume is not stalled: waiting writes are answered.
        CompletableFuture<Integer> third = submit(8192);
        org.awaitility.Awaitility.await().until(() -> pipeline.capturedSeq() == 3);
        assertThat(third).isNotDone();
        shipper.onDisconnected(1);
        assertThat(third.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);
        assertThat(submit(12288).get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);
    }

    private CompletableFuture<Integer> submit(long offset) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        pipeline.submitWrite(0, offset, Unpooled.wrappedBuffer(new byte[4096]), false, done::complete);
        return done;
    }

    @Test
    void shouldStopReplicatingWhenTheGroupWasPromotedOrTheSidesDiverged() throws Exception {
        shipper(10 * S);
        write(0, 512);
        shipper.onHelloAck(1, new GroupAck("g", 0, GENERATION, GroupAck.STATUS_PROMOTED));
        assertThat(shipper.state()).isEqualTo(GroupShipper.FENCED);
        assertThat(shipper.problem()).contains("promoted");
        pumpAt(T0 + S);
        assertThat(link.sent()).isEmpty();

        shipper.onHelloAck(2, new GroupAck("g", 0, GENERATION, GroupAck.STATUS_NOT_ALLOWED));
        assertThat(shipper.state()).isEqualTo(GroupShipper.REFUSED);

        shipper.onHelloAck(3, ack(5));
        assertThat(shipper.state()).isEqualTo(GroupShipper.FAILED);
        assertThat(shipper.problem()).contains("diverged");
        pumpAt(T0 + 2 * S);
        assertThat(link.sent()).isEmpty();
    }
}
