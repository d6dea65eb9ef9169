package io.ferry.capture.sync;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.capture.journal.Journal;
import io.ferry.capture.pipeline.InMemoryJournal;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.volume.VolumeFile;
import io.ferry.volume.BlockHasher;
import io.ferry.wire.BlockDiff;
import io.ferry.wire.BlockHashes;
import io.ferry.wire.ControlMessage;
import io.ferry.wire.SyncMark;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's side of a sync: what a region read journals (data, holes, zero blocks), what a
 * checksum sync sends to a seeded replica (only the blocks that differ), and that a replica that
 * applies the journal in seq order, hashing at exactly each region's seq, ends equal to the
 * primary while writes race with the sync's reads of the same regions.
 */
class GroupSyncTest {
    private static final long SIZE = 8L << 20;

    @TempDir
    Path dir;

    private final AtomicLong clockNanos = new AtomicLong(1);
    private InMemoryJournal journal;
    private WritePipeline pipeline;
    private final List<VolumeFile> files = new ArrayList<>();

    @AfterEach
    void close() {
        if (pipeline != null) {
            pipeline.close();
        }
        files.forEach(VolumeFile::close);
    }

    @Test
    void shouldSendOnlyTheDataOfAnEmptyReplicaAndLeaveHolesAndZeroBlocksOut() throws Exception {
        Path volume = dir.resolve("a.img");
        byte[] first = random(1, 3 << 20);
        byte[] second = random(2, 64 << 10);
        try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw")) {
            file.setLength(SIZE);
            file.seek(0);
            file.write(first);
            file.seek(5L << 20);
            file.write(new byte[256 << 10]); // allocated zeroes: data to SEEK_DATA, zero blocks to the sync
            file.write(second);
        }
        start(volume);

        GroupSync sync = runToEnd(false, null);

        long data = 0;
        for (InMemoryJournal.Record r : journal.records) {
            assertThat(r.type()).as("an empty replica gets data records only").isEqualTo(Journal.WRITE);
            data += r.length();
        }
        assertThat(data).isEqualTo(first.length + second.length);
        assertThat(sync.sentBytes()).isEqualTo(data);
        assertThat(sync.endMark().phase()).isEqualTo(SyncMark.END);
        assertThat(sync.endMark().seq()).isEqualTo(journal.lastSeq());
        assertThat(replay(new byte[(int) SIZE])).isEqualTo(Files.readAllBytes(volume));
    }

    @Test
    void shouldSendOnlyTheBlocksThatDifferFromASeededReplicaAndClearWhatThePrimaryHasAsHoles() throws Exception {
        Path volume = dir.resolve("a.img");
        byte[] content = random(3, (int) SIZE);
        Arrays.fill(content, 6 << 20, 7 << 20, (byte) 0);
        Files.write(volume, content);
        try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw")) {
            file.setLength(SIZE + (1L << 20)); // a hole at the end
        }
        start(volume);
        byte[] replica = Arrays.copyOf(content, (int) SIZE + (1 << 20)); // seeded: a copy shipped on a disk
        Random random = new Random(8);
        java.util.Set<Integer> changed = new java.util.TreeSet<>();
        while (changed.size() < 5) {
            int block = random.nextInt((int) (SIZE / GroupSync.HASH_BLOCK_BYTES));
            if (block * GroupSync.HASH_BLOCK_BYTES / (1 << 20) != 6) { // not in the zeroed MiB
                changed.add(block);
            }
        }
        for (int block : changed) {
            replica[block * GroupSync.HASH_BLOCK_BYTES + 100] ^= 0x5a; // one byte rots per changed block
        }
        Arrays.fill(replica, (int) SIZE, replica.length, (byte) 7); // other data where the primary has a hole

        Receiver receiver = new Receiver(replica);
        GroupSync sync = runToEnd(true, receiver);

        assertThat(receiver.replay()).isEqualTo(Files.readAllBytes(volume));
        assertThat(sync.sentBytes()).as("only the changed blocks travel as data")
                .isEqualTo((long) changed.size() * GroupSync.HASH_BLOCK_BYTES);
        assertThat(journal.records).filteredOn(r -> r.type() == Journal.WRITE_ZEROES).isNotEmpty();
        assertThat(sync.hashBytes()).isEqualTo((SIZE + (1L << 20)) / GroupSync.HASH_BLOCK_BYTES * 16);
    }

    @Test
    void shouldSendNothingButHashesForAnIdenticalReplica() throws Exception {
        Path volume = dir.resolve("a.img");
        Files.write(volume, random(9, (int) SIZE));
        start(volume);
        Receiver receiver = new Receiver(Files.readAllBytes(volume));
        GroupSync sync = runToEnd(true, receiver);
        assertThat(sync.sentBytes()).isZero();
        assertThat(journal.records).isEmpty();
    }

    @Test
    void shouldOrderARegionReadBetweenTheWritesBeforeAndAfterIt() throws Exception {
        Path volume = dir.resolve("a.img");
        try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw")) {
            file.setLength(1 << 20);
        }
        start(volume);
        CountDownLatch written = new CountDownLatch(2);
        pipeline.submitWrite(0, 0, Unpooled.wrappedBuffer(filled(4096, 1)), false, errno -> written.countDown());
        GroupSync sync = new GroupSync("g", SyncMark.INITIAL, false, pipeline, files, 0, 0);
        sync.pump(0, 0); // the read is queued behind the first write
        pipeline.submitWrite(0, 0, Unpooled.wrappedBuffer(filled(4096, 2)), false, errno -> written.countDown());
        assertThat(written.await(10, TimeUnit.SECONDS)).isTrue();
        while (!sync.allRead()) {
            sync.pump(0, 0);
            Thread.onSpinWait();
        }

        assertThat(journal.records).hasSize(3);
        InMemoryJournal.Record read = journal.records.get(1);
        assertThat(read.seq()).isEqualTo(2);
        assertThat(read.data()[0]).as("the read holds the write before it").isEqualTo((byte) 1);
        assertThat(journal.records.get(2).data()[0]).isEqualTo((byte) 2);
        assertThat(replay(new byte[1 << 20])[0]).as("the later write wins at the replica").isEqualTo((byte) 2);
    }

    /** Writes race with the sync's reads of the very regions they write; many rounds. */
    @Test
    void shouldEndWithTheReplicaEqualToThePrimaryWhileWritesRaceWithTheReads() throws Exception {
        Path volume = dir.resolve("a.img");
        try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw")) {
            file.setLength(SIZE);
            file.write(random(5, (int) SIZE / 2));
        }
        start(volume);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger inFlight = new AtomicInteger();
        Thread writer = new Thread(() -> {
            Random random = new Random(6);
            int counter = 0;
            while (!stop.get()) {
                if (inFlight.get() > 64) {
                    Thread.onSpinWait();
                    continue;
                }
                long offset = (long) random.nextInt((int) (SIZE / 4096)) * 4096;
                inFlight.incrementAndGet();
                pipeline.submitWrite(0, offset, Unpooled.wrappedBuffer(filled(4096, ++counter)), false,
                        errno -> inFlight.decrementAndGet());
            }
        });
        writer.start();
        Receiver receiver = new Receiver(random(7, (int) SIZE));
        try {
            runToEnd(true, receiver);
        } finally {
            stop.set(true);
            writer.join();
        }
        while (inFlight.get() > 0) {
            Thread.onSpinWait();
        }
        assertThat(journal.records).anyMatch(r -> r.type() == Journal.WRITE && r.length() > 4096);
        assertThat(receiver.replay()).isEqualTo(Files.readAllBytes(volume));
    }

    /** Regions of holes journal nothing, so no ACK comes for them: they count as done once read. */
    @Test
    void shouldNotStallOnRegionsThatJournalNothing() throws Exception {
        Path volume = dir.resolve("a.img");
        try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw")) {
            file.setLength(GroupSync.WINDOW_BYTES * 3); // holes only: a window's worth three times over
        }
        start(volume);
        GroupSync sync = new GroupSync("g", SyncMark.INITIAL, false, pipeline, files, 0, 0);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!sync.allRead()) {
            sync.pump(System.nanoTime(), 0); // no ACK ever arrives: nothing was journaled
            assertThat(System.nanoTime()).as("the sync went past its window").isLessThan(deadline);
            Thread.onSpinWait();
        }
        sync.pump(System.nanoTime(), 0);
        assertThat(journal.records).isEmpty();
        assertThat(sync.doneBytes()).isEqualTo(GroupSync.WINDOW_BYTES * 3);
    }

    @Test
    void shouldReadNothingForAGroupWithoutVolumesToRead() throws Exception {
        Path volume = dir.resolve("a.img");
        try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw")) {
            file.setLength(SIZE);
        }
        start(volume);
        GroupSync sync = new GroupSync("g", SyncMark.INITIAL, false, pipeline, List.of(), 0, 0);
        assertThat(sync.pump(0, 0)).isEmpty();
        assertThat(sync.allRead()).isTrue();
        assertThat(sync.endMark().seq()).isZero();
        assertThat(journal.records).isEmpty();
    }

    private void start(Path volume) throws IOException {
        files.add(VolumeFile.open(volume, false));
        journal = new InMemoryJournal();
        pipeline = WritePipeline.start("g", List.of("a"), files, journal, clockNanos::incrementAndGet, 1024);
    }

    /**
     * Drives a sync as the shipper does, acknowledging everything at once, and answers every
     * HASHES as the receiver would (with {@code receiver}), until the sync can end.
     */
    private GroupSync runToEnd(boolean checksum, Receiver receiver) {
        GroupSync sync = new GroupSync("g", SyncMark.INITIAL, checksum, pipeline, files, 0, 0);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!sync.allRead()) {
            for (ControlMessage mark : sync.pump(System.nanoTime(), Long.MAX_VALUE)) {
                if (mark instanceof BlockHashes hashes) {
                    sync.onDiff(receiver.compare(hashes));
                }
            }
            assertThat(System.nanoTime()).as("sync finished in time").isLessThan(deadline);
            Thread.onSpinWait();
        }
        sync.pump(System.nanoTime(), Long.MAX_VALUE);
        assertThat(sync.doneBytes()).isEqualTo(files.get(0).sizeBytes());
        return sync;
    }

    /** The receiver's side: a replica that applies the journal in seq order and hashes at exactly a seq. */
    private final class Receiver {
        private final byte[] replica;
        private final BlockHasher hasher = new BlockHasher();
        private long appliedSeq;

        Receiver(byte[] replica) {
            this.replica = replica;
        }

        BlockDiff compare(BlockHashes hashes) {
            applyUpTo(hashes.seq());
            assertThat(appliedSeq).isEqualTo(hashes.seq());
            long end = Math.min(hashes.end(), replica.length);
            List<BlockDiff.Range> ranges = new ArrayList<>();
            for (int i = 0; i < hashes.count(); i++) {
                long at = hashes.offset() + (long) i * hashes.blockBytes();
                int length = (int) Math.min(hashes.blockBytes(), end - at);
                ByteBuffer block = ByteBuffer.wrap(replica, (int) at, length).slice();
                if (!hasher.matches(block, 0, length, hashes.hashes(), i * BlockHashes.HASH_BYTES)) {
                    ranges.add(new BlockDiff.Range(at, length));
                }
            }
            return new BlockDiff("g", hashes.seq(), hashes.volume(), hashes.offset(), end, ranges);
        }

        private void applyUpTo(long seq) {
            synchronized (journal.records) {
                for (InMemoryJournal.Record r : journal.records) {
                    if (r.seq() > appliedSeq && r.seq() <= seq) {
                        apply(replica, r);
                        appliedSeq = r.seq();
                    }
                }
            }
            appliedSeq = Math.max(appliedSeq, seq);
        }

        byte[] replay() {
            applyUpTo(Long.MAX_VALUE);
            return replica;
        }
    }

    private static void apply(byte[] replica, InMemoryJournal.Record r) {
        if (r.type() == Journal.WRITE) {
            System.arraycopy(r.data(), 0, replica, (int) r.offset(), (int) r.length());
        } else {
            Arrays.fill(replica, (int) r.offset(), (int) (r.offset() + r.length()), (byte) 0);
        }
    }

    /** Applies every journal record, in seq order, to {@code replica}. */
    private byte[] replay(byte[] replica) {
        List<InMemoryJournal.Record> records;
        synchronized (journal.records) {
            records = new ArrayList<>(journal.records);
        }
        long seq = 0;
        for (InMemoryJournal.Record r : records) {
            assertThat(r.seq()).isEqualTo(++seq);
            apply(replica, r);
        }
        return replica;
    }

    private static byte[] random(long seed, int length) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        bytes[length - 1] = (byte) (value >> 8);
        return bytes;
    }
}
