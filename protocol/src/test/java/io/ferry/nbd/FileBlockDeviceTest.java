package io.ferry.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileBlockDeviceTest {

    private static final long SIZE = 8L << 20;

    @TempDir
    Path dir;

    private FileBlockDevice device;

    @AfterEach
    void close() throws IOException {
        if (device != null) {
            device.close();
        }
    }

    @Test
    void createsAMissingFileSparseAtTheGivenSize() throws IOException {
        Path file = dir.resolve("new.img");
        device = FileBlockDevice.openOrCreate(file, SIZE);
        assertThat(Files.size(file)).isEqualTo(SIZE);
        assertThat(device.sizeBytes()).isEqualTo(SIZE);
        assertThat(device.flushCoversAllConnections()).isTrue();
        assertThat(allocatedBytes(file)).isLessThan(SIZE / 2);
    }

    @Test
    void refusesAnExistingFileOfAnotherSize() throws IOException {
        Path file = dir.resolve("other.img");
        Files.write(file, new byte[4096]);
        assertThatThrownBy(() -> FileBlockDevice.openOrCreate(file, SIZE)).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("4096");
    }

    @Test
    void writtenDataReadsBackAndSurvivesReopening() throws Exception {
        Path file = dir.resolve("data.img");
        device = FileBlockDevice.openOrCreate(file, SIZE);
        byte[] data = new byte[12345];
        new java.util.Random(3).nextBytes(data);
        assertThat(write(4000, data, true)).isZero();
        assertThat(read(4000, data.length)).isEqualTo(data);
        assertThat(flush()).isZero();
        device.close();
        device = FileBlockDevice.open(file, true);
        assertThat(device.isReadOnly()).isTrue();
        assertThat(read(4000, data.length)).isEqualTo(data);
    }

    @Test
    void writeZeroesClearsDataAndKeepsHolesUnallocated() throws Exception {
        Path file = dir.resolve("zero.img");
        device = FileBlockDevice.openOrCreate(file, SIZE);
        byte[] ones = new byte[8192];
        java.util.Arrays.fill(ones, (byte) 1);
        assertThat(write(0, ones, false)).isZero();
        CompletableFuture<Integer> zeroed = new CompletableFuture<>();
        device.writeZeroes(4096, SIZE - 4096, true, zeroed::complete);
        assertThat(zeroed.get(30, TimeUnit.SECONDS)).isZero();
        byte[] back = read(0, 8192);
        assertThat(java.util.Arrays.copyOfRange(back, 0, 4096)).containsOnly(1);
        assertThat(java.util.Arrays.copyOfRange(back, 4096, 8192)).containsOnly(0);
        assertThat(allocatedBytes(file)).isLessThan(1 << 20);
    }

    @Test
    void trimPunchesAHoleThatReadsAsZeroesAndBlockStatusReportsIt() throws Exception {
        Path file = dir.resolve("trim.img");
        device = FileBlockDevice.openOrCreate(file, SIZE);
        byte[] ones = new byte[4 << 20];
        java.util.Arrays.fill(ones, (byte) 7);
        assertThat(write(0, ones, true)).isZero();
        assertThat(allocatedBytes(file)).isGreaterThanOrEqualTo(4L << 20);
        CompletableFuture<Integer> trimmed = new CompletableFuture<>();
        device.trim(1 << 20, 2 << 20, true, trimmed::complete);
        assertThat(trimmed.get(30, TimeUnit.SECONDS)).isZero();
        assertThat(read((1 << 20) - 4096, 8192)).startsWith(new byte[] {7, 7, 7}).endsWith(0, 0, 0);
        assertThat(read(1 << 20, 2 << 20)).containsOnly(0);
        assertThat(allocatedBytes(file)).isLessThan(3L << 20);
        java.util.List<long[]> extents = new java.util.ArrayList<>();
        device.blockStatus(0, 4 << 20, (length, flags) -> extents.add(new long[] {length, flags}));
        assertThat(extents).extracting(e -> e[0] + "/" + e[1])
                .containsExactly((1 << 20) + "/0", (2 << 20) + "/3", (1 << 20) + "/0");
        assertThat(device.canZeroFast()).isTrue();
    }

    @Test
    void concurrentFlushesAllComplete() throws Exception {
        device = FileBlockDevice.openOrCreate(dir.resolve("flush.img"), SIZE);
        CompletableFuture<?>[] flushes = new CompletableFuture<?>[100];
        for (int i = 0; i < flushes.length; i++) {
            CompletableFuture<Integer> done = new CompletableFuture<>();
            device.flush(done::complete);
            flushes[i] = done.thenAccept(errno -> assertThat(errno).isZero());
        }
        CompletableFuture.allOf(flushes).get(30, TimeUnit.SECONDS);
    }

    @Test
    void requestsAfterCloseFailWithEshutdown() throws Exception {
        device = FileBlockDevice.openOrCreate(dir.resolve("closed.img"), SIZE);
        device.close();
        assertThat(flush()).isEqualTo(NbdErrors.ESHUTDOWN);
        ByteBuf dst = Unpooled.buffer(16);
        CompletableFuture<Integer> done = new CompletableFuture<>();
        device.read(0, 16, dst, done::complete);
        dst.release();
        assertThat(done.get(5, TimeUnit.SECONDS)).isEqualTo(NbdErrors.ESHUTDOWN);
        device = null;
    }

    private int write(long offset, byte[] data, boolean fua) throws Exception {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(data.length).writeBytes(data);
        CompletableFuture<Integer> done = new CompletableFuture<>();
        device.write(offset, buf, fua, done::complete);
        return done.get(30, TimeUnit.SECONDS);
    }

    private byte[] read(long offset, int length) throws Exception {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(length);
        try {
            CompletableFuture<Integer> done = new CompletableFuture<>();
            device.read(offset, length, buf, done::complete);
            assertThat(done.get(30, TimeUnit.SECONDS)).isZero();
            assertThat(buf.readableBytes()).isEqualTo(length);
            byte[] out = new byte[length];
            buf.readBytes(out);
            return out;
        } finally {
            buf.release();
        }
    }

    private int flush() throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        device.flush(done::complete);
        return done.get(30, TimeUnit.SECONDS);
    }

    /** Bytes the file system allocated to {@code file} (st_blocks * 512, from coreutils stat). */
    private static long allocatedBytes(Path file) throws IOException {
        Process stat = new ProcessBuilder("stat", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        try {
            String out = new String(stat.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
            assertThat(stat.waitFor()).as("stat output: %s", out).isZero();
            return Long.parseLong(out) * 512;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
