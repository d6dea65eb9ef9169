package io.ferry.replica.drill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.nbd.NbdErrors;
import io.ferry.volume.VolumeFile;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DrillVolumeTest {

    /** 3 MiB plus a short last block, so edge handling of a partial block is always exercised. */
    private static final int SIZE_BYTES = 3 * 1024 * 1024 + 1000;
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private Path replicaPath;
    private Path scratchPath;
    private VolumeFile replica;
    private byte[] original;

    @BeforeEach
    void writeReplica() throws IOException {
        replicaPath = dir.resolve("replica.img");
        scratchPath = dir.resolve("drill.scratch");
        replica = VolumeFile.openOrCreate(replicaPath, SIZE_BYTES);
        original = new byte[SIZE_BYTES];
        new Random(42).nextBytes(original);
        // A zero region in the middle, like an unwritten part of a real volume.
        Arrays.fill(original, 1024 * 1024, 1024 * 1024 + 512 * 1024, (byte) 0);
        replica.write(0, ByteBuffer.wrap(original));
    }

    @AfterEach
    void closeReplica() {
        replica.close();
    }

    @Test
    void shouldHandRequestsToTheDrillWorkerSoAStalledScratchDiskNeverHoldsTheCaller() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch stalled = new CountDownLatch(1);
        try (DrillIo io = new DrillIo("g")) {
            DrillVolume clone = DrillVolume.create(replica, scratchPath, io);
            try {
                // The worker is stuck in a sync of the scratch disk (as a FLUSH on a stalled disk would be).
                io.execute(() -> {
                    stalled.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                assertThat(stalled.await(10, TimeUnit.SECONDS)).isTrue();

                CompletableFuture<String> flushed = new CompletableFuture<>();
                CompletableFuture<String> read = new CompletableFuture<>();
                ByteBuf dst = Unpooled.buffer(BLOCK);
                long startNanos = System.nanoTime();
                clone.flush(errno -> flushed.complete(errno + " on " + Thread.currentThread().getName()));
                clone.read(0, BLOCK, dst, errno -> read.complete(errno + " on " + Thread.currentThread().getName()));
                long callNanos = System.nanoTime() - startNanos;

                assertThat(flushed).as("no reply while the disk stalls").isNotDone();
                assertThat(read).isNotDone();
                assertThat(callNanos).as("the caller (an NBD event loop) is not held").isLessThan(
                        TimeUnit.SECONDS.toNanos(1));
                release.countDown();
                assertThat(flushed.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK + " on ferry-drill-g");
                assertThat(read.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK + " on ferry-drill-g");
                byte[] bytes = new byte[BLOCK];
                dst.getBytes(0, bytes);
                assertThat(bytes).isEqualTo(Arrays.copyOf(original, BLOCK));
                dst.release();
            } finally {
                release.countDown();
                clone.close();
            }
            int[] afterStop = {-1};
            io.close();
            clone.flush(errno -> afterStop[0] = errno);
            assertThat(afterStop[0]).as("a request after the drill stopped still gets an answer")
                    .isEqualTo(NbdErrors.ESHUTDOWN);
        }
    }

    @Test
    void cloneKeepsFrozenDataWhileTheReplicaAdvancesAfterPreserve() throws IOException {
        try (DrillVolume clone = DrillVolume.create(replica, scratchPath)) {
            assertThat(readClone(clone, 0, SIZE_BYTES)).isEqualTo(original);

            long offset = 10_000;
            int length = 70_000;
            clone.preserve(offset, length);
            byte[] newer = randomBytes(length, 7);
            replica.write(offset, ByteBuffer.wrap(newer));
            // The tail, including the short last block.
            clone.preserve(SIZE_BYTES - 5000, 5000);
            replica.write(SIZE_BYTES - 5000, ByteBuffer.wrap(randomBytes(5000, 8)));

            assertThat(readClone(clone, 0, SIZE_BYTES)).isEqualTo(original);
            assertThat(readFile(replicaPath, offset, length)).isEqualTo(newer);
            // Blocks 2..19 cover [8192, 81920) ⊇ [10000, 80000); the tail is blocks 767 (4096) and 768 (1000).
            long expected = 18L * BLOCK + BLOCK + 1000;
            assertThat(clone.preservedBytes()).isEqualTo(expected);
            assertThat(clone.scratchBytes()).isEqualTo(20L * BLOCK);

            // Preserving again copies nothing: those blocks are the clone's already.
            clone.preserve(offset, length);
            assertThat(clone.preservedBytes()).isEqualTo(expected);
            assertThat(readClone(clone, 0, SIZE_BYTES)).isEqualTo(original);
        }
    }

    @Test
    void cloneWritesReadBackFromTheCloneAndNeverReachTheReplica() throws IOException {
        byte[] expected = original.clone();
        try (DrillVolume clone = DrillVolume.create(replica, scratchPath)) {
            writeClone(clone, expected, 8192, randomBytes(BLOCK, 1));                 // one aligned block
            writeClone(clone, expected, 5000, randomBytes(10_000, 2));                // unaligned, three blocks
            writeClone(clone, expected, 100_003, randomBytes(3, 3));                  // inside one block
            writeClone(clone, expected, SIZE_BYTES - 3000, randomBytes(3000, 4));     // the short last block
            writeClone(clone, expected, 6000, randomBytes(200, 5));                   // over owned blocks
            zeroClone(clone, expected, 300_123, 50_000, false);                       // unaligned zeroes
            zeroClone(clone, expected, 1024 * 1024 - 10, 2 * 1024 * 1024 + 10, true); // trim to the end
            writeClone(clone, expected, SIZE_BYTES - 10, randomBytes(10, 6));         // in the trimmed tail

            assertThat(readClone(clone, 0, SIZE_BYTES)).isEqualTo(expected);
            // Unaligned reads that span owned and replica blocks.
            assertThat(readClone(clone, 4000, 200_000)).isEqualTo(Arrays.copyOfRange(expected, 4000, 204_000));
            assertThat(readClone(clone, 99_999, 9)).isEqualTo(Arrays.copyOfRange(expected, 99_999, 100_008));

            int[] flushed = {-1};
            clone.flush(errno -> flushed[0] = errno);
            assertThat(flushed[0]).isEqualTo(NbdErrors.OK);
            assertThat(clone.preservedBytes()).isZero();
            assertThat(Files.readAllBytes(replicaPath)).isEqualTo(original);
        }
    }

    @Test
    void restoringPreImagesNewestToOldestRebuildsTheEarlierImage() throws IOException {
        // Three overwrites of the replica, each recording the pre-image of its range, as undo
        // records do: the second lands in the zero region (its pre-image is all zeroes).
        List<UndoRecord> undo = new ArrayList<>();
        undo.add(overwrite(100_000, randomBytes(200_000, 11)));
        undo.add(overwrite(1024 * 1024 + 1234, randomBytes(20_000, 12)));
        undo.add(overwrite(200_001, new byte[1024 * 1024 - 200_001 + 5000]));
        undo.add(overwrite(SIZE_BYTES - 7000, randomBytes(7000, 13)));
        byte[] latest = Files.readAllBytes(replicaPath);
        assertThat(latest).isNotEqualTo(original);

        try (DrillVolume clone = DrillVolume.create(replica, scratchPath)) {
            assertThat(readClone(clone, 0, SIZE_BYTES)).isEqualTo(latest);
            for (int i = undo.size() - 1; i >= 0; i--) {
                UndoRecord record = undo.get(i);
                if (isZero(record.preImage())) {
                    clone.restoreZeroes(record.offset(), record.preImage().length);
                } else {
                    clone.restore(record.offset(), ByteBuffer.wrap(record.preImage()));
                }
            }
            assertThat(readClone(clone, 0, SIZE_BYTES)).isEqualTo(original);
            assertThat(Files.readAllBytes(replicaPath)).isEqualTo(latest);
        }
    }

    @Test
    void readersNeverSeeTheReplicaAdvanceWhileTheApplierPreservesAndOverwrites() throws Exception {
        // A larger volume written in small pieces, so much of it stays unowned for the whole run
        // and readers keep reading long runs straight from the replica the applier is writing.
        int sizeBytes = 32 * 1024 * 1024 + 1000;
        byte[] frozen = randomBytes(sizeBytes, 77);
        Path bigPath = dir.resolve("big.img");
        int readers = 4;
        int applierWrites = 4000;
        int readsPerReader = 400;
        int maxReadBytes = 1024 * 1024;
        ExecutorService threads = Executors.newFixedThreadPool(readers + 1);
        try (VolumeFile big = VolumeFile.openOrCreate(bigPath, sizeBytes);
                DrillVolume clone = createClone(big, frozen)) {
            CyclicBarrier start = new CyclicBarrier(readers + 1);
            AtomicBoolean applierDone = new AtomicBoolean();
            AtomicInteger generation = new AtomicInteger();
            List<Future<?>> tasks = new ArrayList<>();
            tasks.add(threads.submit(() -> {
                Random random = new Random(99);
                ByteBuffer pattern = ByteBuffer.allocate(16 * 1024);
                start.await();
                try {
                    for (int i = 0; i < applierWrites; i++) {
                        int length = 1 + random.nextInt(16 * 1024);
                        long offset = random.nextInt(sizeBytes - length + 1);
                        byte value = (byte) (1 + generation.incrementAndGet() % 255);
                        pattern.clear().limit(length);
                        Arrays.fill(pattern.array(), 0, length, value);
                        clone.preserve(offset, length);
                        big.write(offset, pattern);
                    }
                } finally {
                    applierDone.set(true);
                }
                return null;
            }));
            for (int r = 0; r < readers; r++) {
                long seed = 1000 + r;
                tasks.add(threads.submit(() -> {
                    Random random = new Random(seed);
                    ByteBuf dst = Unpooled.directBuffer(maxReadBytes);
                    byte[] bytes = new byte[maxReadBytes];
                    int[] errno = {-1};
                    try {
                        start.await();
                        // Keep reading at least until the applier has finished, so reads overlap it.
                        for (int i = 0; i < readsPerReader || !applierDone.get(); i++) {
                            int length = 1 + random.nextInt(maxReadBytes);
                            long offset = random.nextInt(sizeBytes - length + 1);
                            dst.clear();
                            errno[0] = -1;
                            clone.read(offset, length, dst, e -> errno[0] = e);
                            assertThat(errno[0]).isEqualTo(NbdErrors.OK);
                            assertThat(dst.readableBytes()).isEqualTo(length);
                            dst.getBytes(0, bytes, 0, length);
                            int mismatch = Arrays.mismatch(bytes, 0, length,
                                    frozen, (int) offset, (int) offset + length);
                            if (mismatch >= 0) {
                                throw new AssertionError("clone byte " + (offset + mismatch) + " changed to "
                                        + bytes[mismatch] + " while the applier wrote generation "
                                        + generation.get());
                            }
                        }
                    } finally {
                        dst.release();
                    }
                    return null;
                }));
            }
            for (Future<?> task : tasks) {
                task.get(2, TimeUnit.MINUTES);
            }
            assertThat(readClone(clone, 0, sizeBytes)).isEqualTo(frozen);
            assertThat(Files.readAllBytes(bigPath)).isNotEqualTo(frozen);
            assertThat(clone.scratchBytes()).isPositive().isLessThan(sizeBytes);
        } finally {
            threads.shutdownNow();
            assertThat(threads.awaitTermination(1, TimeUnit.MINUTES)).isTrue();
        }
    }

    private DrillVolume createClone(VolumeFile volume, byte[] content) throws IOException {
        volume.write(0, ByteBuffer.wrap(content));
        return DrillVolume.create(volume, dir.resolve("big.scratch"));
    }

    @Test
    void closeDeletesTheScratchFileAndLeavesTheReplicaOpen() throws IOException {
        Files.write(scratchPath, new byte[] {1, 2, 3}); // a leftover from a drill that was not stopped
        DrillVolume clone = DrillVolume.create(replica, scratchPath);
        ByteBuf data = Unpooled.wrappedBuffer(randomBytes(10_000, 3));
        clone.write(1000, data, true, errno -> assertThat(errno).isEqualTo(NbdErrors.OK));
        assertThat(Files.size(scratchPath)).isEqualTo(SIZE_BYTES);

        clone.close();
        clone.close();

        assertThat(scratchPath).doesNotExist();
        assertThat(readFile(replicaPath, 0, SIZE_BYTES)).isEqualTo(original);
        ByteBuffer stillOpen = ByteBuffer.allocate(16);
        replica.read(0, stillOpen);
        assertThat(stillOpen.array()).isEqualTo(Arrays.copyOf(original, 16));

        int[] errno = {-1};
        ByteBuf dst = Unpooled.buffer(16);
        try {
            clone.read(0, 16, dst, e -> errno[0] = e);
        } finally {
            dst.release();
        }
        assertThat(errno[0]).isEqualTo(NbdErrors.EIO);
        errno[0] = -1;
        ByteBuf late = Unpooled.wrappedBuffer(new byte[16]);
        clone.write(0, late, false, e -> errno[0] = e);
        assertThat(errno[0]).isEqualTo(NbdErrors.EIO);
        assertThat(late.refCnt()).isZero();
        assertThatThrownBy(() -> clone.preserve(0, 4096)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void createRefusesTheReplicaAsScratch() {
        assertThatThrownBy(() -> DrillVolume.create(replica, replicaPath))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is the replica itself");
        assertThat(replicaPath).exists();
    }

    private record UndoRecord(long offset, byte[] preImage) {
    }

    private UndoRecord overwrite(long offset, byte[] data) throws IOException {
        byte[] preImage = new byte[data.length];
        replica.read(offset, ByteBuffer.wrap(preImage));
        if (isZero(data)) {
            replica.zero(offset, data.length);
        } else {
            replica.write(offset, ByteBuffer.wrap(data));
        }
        return new UndoRecord(offset, preImage);
    }

    private static void writeClone(DrillVolume clone, byte[] expected, long offset, byte[] data) {
        int[] errno = {-1};
        clone.write(offset, Unpooled.wrappedBuffer(data), false, e -> errno[0] = e);
        assertThat(errno[0]).isEqualTo(NbdErrors.OK);
        System.arraycopy(data, 0, expected, (int) offset, data.length);
    }

    private static void zeroClone(DrillVolume clone, byte[] expected, long offset, long length, boolean trim) {
        int[] errno = {-1};
        if (trim) {
            clone.trim(offset, length, false, e -> errno[0] = e);
        } else {
            clone.writeZeroes(offset, length, false, e -> errno[0] = e);
        }
        assertThat(errno[0]).isEqualTo(NbdErrors.OK);
        Arrays.fill(expected, (int) offset, (int) (offset + length), (byte) 0);
    }

    private static byte[] readClone(DrillVolume clone, long offset, int length) {
        ByteBuf dst = Unpooled.directBuffer(length);
        try {
            int[] errno = {-1};
            clone.read(offset, length, dst, e -> errno[0] = e);
            assertThat(errno[0]).isEqualTo(NbdErrors.OK);
            byte[] bytes = new byte[dst.readableBytes()];
            dst.readBytes(bytes);
            return bytes;
        } finally {
            dst.release();
        }
    }

    private static byte[] readFile(Path file, long offset, int length) throws IOException {
        return Arrays.copyOfRange(Files.readAllBytes(file), (int) offset, (int) offset + length);
    }

    private static byte[] randomBytes(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static boolean isZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
