package io.ferry.capture.ship;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.capture.activity.ActivityLog;
import io.ferry.capture.activity.CrashRecovery;
import io.ferry.capture.bitmap.DirtyMap;
import io.ferry.capture.bitmap.JournalBudget;
import io.ferry.capture.pipeline.InMemoryJournal;
import io.ferry.capture.pipeline.Overflow;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.delta.Delta;
import io.ferry.delta.DeltaFormat;
import io.ferry.nbd.NbdErrors;
import io.ferry.volume.BlockHasher;
import io.ferry.volume.VolumeFile;
import io.ferry.wire.BlockDiff;
import io.ferry.wire.BlockHashes;
import io.ferry.wire.Frames;
import io.ferry.wire.GroupAck;
import io.ferry.wire.SyncMark;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The activity log against simulated host crashes (CrashMonkey's idea): a group replicates
 * random writes and flushes to a model receiver; then the host "crashes". The crash keeps what
 * was synced (the writes the sync thread reported durable, the journal records appended before a
 * journal sync) plus an arbitrary subset of everything else, 4 KiB page by page for the volume
 * and a prefix for the journal, while the receiver keeps everything it acknowledged, including
 * records the primary lost. The agent restarts from that state in another boot, recovers
 * ({@link CrashRecovery}), reconnects and resyncs while new writes go on. For every seed the
 * replica must end equal to the primary as the crash left it plus the new writes; and the
 * seeds must show the crash leaving the two sides different before the resync, or the test
 * proves nothing.
 */
class HostCrashRecoveryTest {
    private static final long SIZE = 16L << 20;
    private static final int PAGE = 4096;
    private static final long GENERATION = 5;
    private static final int SEEDS = 40;

    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);

    /** One write as the test issued it: data, or zeroes when {@code data} is null. */
    private record Write(long offset, int length, byte[] data) {
    }

    @Test
    void shouldMakeTheReplicaEqualThePrimaryAsTheCrashLeftItForEverySeed() throws Exception {
        int diverged = 0;
        for (int seed = 1; seed <= SEEDS; seed++) {
            if (runSeed(seed)) {
                diverged++;
            }
        }
        assertThat(diverged).as("seeds whose crash left primary and replica different before the resync")
                .isGreaterThanOrEqualTo(SEEDS / 4);
    }

    /** Runs one seed; returns whether the crash left the replica different from the primary. */
    private boolean runSeed(int seed) throws Exception {
        Random random = new Random(seed);
        Path run = Files.createDirectories(dir.resolve("seed-" + seed));
        String why = "seed " + seed;
        ModelReceiver receiver = new ModelReceiver();

        // Before the crash: writes, flushes, and shipping that may run ahead of the local syncs.
        Path before = Files.createDirectories(run.resolve("before"));
        InMemoryJournal journal = new InMemoryJournal();
        VolumeFile file = VolumeFile.openOrCreate(before.resolve("a.img"), SIZE);
        DirtyMap dirty = DirtyMap.open(before.resolve("bitmap"), "g", List.of(SIZE));
        ActivityLog activity = ActivityLog.open(before.resolve("activity"), "g", 2, "boot-1");
        WritePipeline pipeline = WritePipeline.start("g", List.of("a"), List.of(file), journal, clock::get, 64);
        pipeline.overflow(new Overflow(new JournalBudget(1L << 40), dirty, (b, f, s, c) -> { }, false, false, 0, 0));
        pipeline.activityLog(activity);
        GroupShipper shipper = shipper(journal, pipeline, file, dirty);
        shipper.onHelloAck(1, new GroupAck("g", 0, GENERATION, GroupAck.STATUS_OK));

        List<Write> writes = new ArrayList<>();
        long flushedWrites = 0;
        boolean receiverDown = false;
        int count = 40 + random.nextInt(60);
        for (int i = 0; i < count; i++) {
            Write w = randomWrite(random);
            submit(pipeline, w);
            writes.add(w);
            int dice = random.nextInt(10);
            if (dice < 2) {
                CompletableFuture<Integer> flushed = new CompletableFuture<>();
                pipeline.submitFlush(flushed::complete);
                assertThat(flushed.get(10, TimeUnit.SECONDS)).as(why).isEqualTo(NbdErrors.OK);
                flushedWrites = writes.size();
            } else if (dice == 2) {
                receiverDown = !receiverDown;
            }
            if (!receiverDown) {
                receiver.exchange(shipper, 1, 3);
            }
        }
        assertThat(activity.syncedWrites()).as(why + ": a completed FLUSH makes every earlier write durable")
                .isGreaterThanOrEqualTo(flushedWrites);

        // The crash: what survives, taken while the pipeline is idle (the activity log and the
        // dirty map are synced as they are written: their files are what a crash leaves).
        long syncedWrites = activity.syncedWrites();
        long syncedSeq = journal.syncedSeq;
        long keepUpTo = syncedSeq + random.nextInt((int) (journal.lastSeq() - syncedSeq) + 1);
        InMemoryJournal journalAfter = journal.crashCopy(keepUpTo);
        byte[] primary = new byte[(int) SIZE];
        for (int i = 0; i < writes.size(); i++) {
            applyPages(primary, writes.get(i), i < syncedWrites ? null : random);
        }
        Path after = Files.createDirectories(run.resolve("after"));
        copy(ActivityLog.path(before.resolve("activity"), "g"), after.resolve("activity"));
        copy(before.resolve("bitmap").resolve("g.bitmap"), after.resolve("bitmap"));
        shipper.close();
        pipeline.close();
        file.close();
        dirty.close();
        Files.write(after.resolve("a.img"), primary);
        boolean divergedAtCrash = !Arrays.equals(receiver.replica, primary);

        // The restart, in another boot.
        InMemoryJournal journal2 = journalAfter;
        VolumeFile file2 = VolumeFile.openOrCreate(after.resolve("a.img"), SIZE);
        DirtyMap dirty2 = DirtyMap.open(after.resolve("bitmap"), "g", List.of(SIZE));
        ActivityLog activity2 = ActivityLog.open(after.resolve("activity"), "g", 2, "boot-2");
        List<String> persisted = new ArrayList<>();
        Overflow.Store store = (b, f, s, c) -> persisted.add(b + "@" + f + (c ? " crash" : ""));
        CrashRecovery.Mode mode = CrashRecovery.recover("g", activity2, dirty2, journal2, List.of("a"), List.of(file2),
                store, new CrashRecovery.Mode(false, 0, 0, false), clock.get());
        if (syncedWrites < writes.size()) {
            assertThat(mode.crashRecovery()).as(why + ": unsynced writes were in flight").isTrue();
        }
        WritePipeline pipeline2 = WritePipeline.start("g", List.of("a"), List.of(file2), journal2, clock::get, 64);
        try {
            pipeline2.overflow(new Overflow(new JournalBudget(1L << 40), dirty2, store, false, mode.bitmap(),
                    mode.foldedSeq(), mode.dirtySinceNanos(), mode.crashRecovery()));
            pipeline2.activityLog(activity2);
            GroupShipper shipper2 = shipper(journal2, pipeline2, file2, dirty2);
            shipper2.onHelloAck(2, new GroupAck("g", receiver.durableSeq, GENERATION, GroupAck.STATUS_OK));
            assertThat(shipper2.state()).as(why + ": " + shipper2.problem()).isNotEqualTo(GroupShipper.FAILED);

            int more = 10 + random.nextInt(20);
            for (int i = 0; i < more; i++) {
                Write w = randomWrite(random);
                submit(pipeline2, w);
                applyPages(primary, w, null);
                receiver.exchange(shipper2, 2, 2);
            }
            // the sync's reads run on the pipeline thread: wait for them in real time, not in rounds
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!caughtUp(shipper2, pipeline2, dirty2, receiver) && System.nanoTime() < deadline) {
                receiver.exchange(shipper2, 2, 1);
                Thread.sleep(1);
            }
            assertThat(caughtUp(shipper2, pipeline2, dirty2, receiver)).as(why + ": the resync ended (state "
                    + shipper2.state() + ", " + dirty2.dirtyBytes() + " bytes dirty)").isTrue();
            if (mode.crashRecovery()) {
                assertThat(receiver.kinds).as(why + ": a resync by checksum ran").contains("BEGIN resync", "END resync");
                assertThat(receiver.hashesAnswered).as(why).isPositive();
            }
            shipper2.close();
            assertThat(Arrays.equals(receiver.replica, primary)).as(why + ": replica equals the post-crash primary"
                    + " plus the new writes (" + firstDifference(receiver.replica, primary) + ")").isTrue();
            assertThat(Files.readAllBytes(after.resolve("a.img"))).as(why).isEqualTo(primary);
        } finally {
            pipeline2.close();
            file2.close();
            dirty2.close();
            activity2.close();
        }
        return divergedAtCrash;
    }

    private static boolean caughtUp(GroupShipper shipper, WritePipeline pipeline, DirtyMap dirty, ModelReceiver r) {
        return GroupShipper.REPLICATING.equals(shipper.state()) && dirty.isEmpty()
                && r.durableSeq == pipeline.capturedSeq() && !pipeline.bitmapMode();
    }

    private GroupShipper shipper(InMemoryJournal journal, WritePipeline pipeline, VolumeFile file, DirtyMap dirty) {
        GroupShipper shipper = new GroupShipper("g", journal, pipeline, List.of(new VolumeInfo("a", SIZE)), GENERATION,
                1_000_000_000L, 1L << 20, 64L << 20, clock::get);
        shipper.syncSource(new ShippedGroup.SyncSource(List.of(file), true, 0, dirty, 8L << 20));
        return shipper;
    }

    private static Write randomWrite(Random random) {
        int pages = 1 + random.nextInt(16);
        long offset = (long) random.nextInt((int) (SIZE / PAGE) - pages) * PAGE;
        if (random.nextInt(10) == 0) {
            return new Write(offset, pages * PAGE, null);
        }
        byte[] data = new byte[pages * PAGE];
        random.nextBytes(data);
        return new Write(offset, data.length, data);
    }

    private static void submit(WritePipeline pipeline, Write w) throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        if (w.data() == null) {
            pipeline.submitWriteZeroes(0, w.offset(), w.length(), false, done::complete);
        } else {
            pipeline.submitWrite(0, w.offset(), Unpooled.wrappedBuffer(w.data().clone()), false, done::complete);
        }
        assertThat(done.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);
    }

    /** Applies a write to an image, every page of it, or (with {@code lose}) each page with even odds. */
    private static void applyPages(byte[] image, Write w, Random lose) {
        for (int at = 0; at < w.length(); at += PAGE) {
            if (lose != null && lose.nextBoolean()) {
                continue;
            }
            int to = (int) w.offset() + at;
            if (w.data() == null) {
                Arrays.fill(image, to, to + PAGE, (byte) 0);
            } else {
                System.arraycopy(w.data(), at, image, to, PAGE);
            }
        }
    }

    private static void copy(Path file, Path toDir) throws Exception {
        Files.createDirectories(toDir);
        Files.copy(file, toDir.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
    }

    private static String firstDifference(byte[] a, byte[] b) {
        int i = Arrays.mismatch(a, b);
        return i < 0 ? "none" : "first difference at byte " + i;
    }

    /**
     * The receiver as a model: applies deltas in strict seq order to an image (a gap travels as a
     * delta without extents), acknowledges each at once, answers HASHES at exactly their seq, and
     * keeps the sync marks it saw. Replies reach the shipper after its pump returns, as they would
     * from a network.
     */
    private final class ModelReceiver implements Link {
        final byte[] replica = new byte[(int) SIZE];
        final List<String> kinds = new ArrayList<>();
        long durableSeq;
        int hashesAnswered;
        private final List<Runnable> replies = new ArrayList<>();
        private final BlockHasher hasher = new BlockHasher();
        private GroupShipper to;
        private long connection;

        /** Pumps the shipper {@code rounds} times, delivering the replies after each. */
        void exchange(GroupShipper shipper, long connectionId, int rounds) {
            to = shipper;
            connection = connectionId;
            for (int i = 0; i < rounds; i++) {
                clock.addAndGet(200_000_000L);
                shipper.pump(this, UnpooledByteBufAllocator.DEFAULT, clock.get());
                List<Runnable> now = new ArrayList<>(replies);
                replies.clear();
                now.forEach(Runnable::run);
            }
        }

        @Override
        public void send(long connectionId, ByteBuf frame) {
            try {
                int type = frame.getUnsignedByte(frame.readerIndex() + 5);
                ByteBuf body = frame.slice(frame.readerIndex() + Frames.HEADER_BYTES,
                        frame.readableBytes() - Frames.HEADER_BYTES);
                if (type == Frames.DELTA) {
                    onDelta(Delta.decode(body, 64 << 20));
                } else if (type == Frames.SYNC) {
                    SyncMark mark = SyncMark.decode(body);
                    if (mark.phase() != SyncMark.PROGRESS) {
                        kinds.add((mark.phase() == SyncMark.BEGIN ? "BEGIN " : "END ") + SyncMark.kindName(mark.kind()));
                    }
                } else if (type == Frames.HASHES) {
                    onHashes(BlockHashes.decode(body));
                }
            } finally {
                frame.release();
            }
        }

        private void onDelta(Delta delta) {
            assertThat(delta.firstSeq()).as("deltas arrive in seq order, without holes").isEqualTo(durableSeq + 1);
            for (int i = 0; i < delta.extentCount(); i++) {
                int at = (int) delta.offset(i);
                int length = (int) delta.length(i);
                if (delta.type(i) == DeltaFormat.WRITE) {
                    delta.data(i).get(replica, at, length);
                } else {
                    Arrays.fill(replica, at, at + length, (byte) 0);
                }
            }
            durableSeq = delta.lastSeq();
            long seq = durableSeq;
            GroupShipper shipper = to;
            long id = connection;
            replies.add(() -> shipper.onAck(id, seq));
        }

        private void onHashes(BlockHashes hashes) {
            assertThat(durableSeq).as("HASHES come right after the delta holding their seq").isEqualTo(hashes.seq());
            List<BlockDiff.Range> ranges = new ArrayList<>();
            ByteBuffer image = ByteBuffer.wrap(replica);
            for (int i = 0; i < hashes.count(); i++) {
                long at = hashes.offset() + (long) i * hashes.blockBytes();
                int length = (int) Math.min(hashes.blockBytes(), SIZE - at);
                if (!hasher.matches(image, (int) at, length, hashes.hashes(), i * BlockHashes.HASH_BYTES)) {
                    ranges.add(new BlockDiff.Range(at, length));
                }
            }
            BlockDiff diff = new BlockDiff(hashes.group(), hashes.seq(), hashes.volume(), hashes.offset(), hashes.end(),
                    ranges);
            hashesAnswered++;
            GroupShipper shipper = to;
            long id = connection;
            replies.add(() -> shipper.onDiff(id, diff));
        }

        @Override
        public void start() {
        }

        @Override
        public boolean isReady() {
            return true;
        }

        @Override
        public String lastProblem() {
            return null;
        }

        @Override
        public void close() {
        }
    }
}
