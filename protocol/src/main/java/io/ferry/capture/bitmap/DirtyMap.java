package io.ferry.capture.bitmap;

import io.ferry.daemon.PrivateFiles;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.roaringbitmap.RoaringBitmap;

/**
 * The persistent dirty-region bitmap of one consistency group (DRBD's bitmap): one bit per
 * {@value #BLOCK_BYTES}-byte block of every volume, set for a block the replica may lack. The
 * group's writes mark it while its journal cannot hold them (bitmap mode); a resync reads the
 * marked blocks and clears them once the receiver holds them durable.
 *
 * <h2>Two copies of the same bits</h2>
 * In memory, a {@link RoaringBitmap} per volume: iteration over the marked runs and counts in
 * time proportional to the runs, not to the volume. On disk, the file
 * {@code <dataDir>/bitmap/<group>.bitmap}, memory-mapped: a {@value #HEADER_BYTES}-byte header
 * (magic, format, block size, volume sizes, group name), then per volume a flat array of bits,
 * bit {@code b % 8} of byte {@code b / 8} for block {@code b}. A mark sets the mapped bits before
 * the write it covers reaches the volume file, so a kill -9 (the page cache survives) never loses
 * one, with no system call per write; {@link #force} makes them durable, and the group's sync
 * thread calls it before any FLUSH or FUA reply that covers a marked write. A flat array rather
 * than the Roaring serialization on disk because a mark must reach the file in place, in the
 * same instant as the memory copy: a serialized bitmap would be rewritten whole.
 *
 * <p>Memory and disk are bounded by the volumes' size (the file is {@code size / 32768} bytes a
 * volume), never by how long an outage lasts.
 *
 * <h2>Epochs</h2>
 * A resync clears a region only if the map was not refolded since it read the region
 * ({@link #clear}): a fold marks again blocks whose newer writes the receiver lacks, and a stale
 * clear must not erase those marks.
 *
 * <p>Threads: every method is thread-safe (one monitor; marks are cheap); {@link #force} runs
 * outside it.
 */
public final class DirtyMap implements AutoCloseable {

    public static final int BLOCK_BYTES = 4096;
    static final int HEADER_BYTES = 4096;
    static final long MAGIC = 0x504d4259_52524546L; // "FERRYBMP" little-endian
    static final int FORMAT = 1;
    /** Largest volume a map covers: 2^31 blocks. */
    public static final long MAX_VOLUME_BYTES = (1L << 31) * BLOCK_BYTES;
    static final String SUFFIX = ".bitmap";

    private final Path file;
    private final String group;
    private final long[] sizes;
    private final long[] bitsAt;
    private final RoaringBitmap[] marked;
    private final FileChannel channel;
    private final MappedByteBuffer map;
    private volatile long dirtyBlocks;
    private volatile boolean unforced;
    private long epoch;

    private DirtyMap(Path file, String group, long[] sizes, long[] bitsAt, FileChannel channel, MappedByteBuffer map) {
        this.file = file;
        this.group = group;
        this.sizes = sizes;
        this.bitsAt = bitsAt;
        this.channel = channel;
        this.map = map;
        this.marked = new RoaringBitmap[sizes.length];
        for (int v = 0; v < sizes.length; v++) {
            marked[v] = new RoaringBitmap();
        }
    }

    /** {@code <dir>/<group>.bitmap}. */
    public static Path path(Path dir, String group) {
        return dir.resolve(group + SUFFIX);
    }

    /**
     * Opens the map of {@code group} in {@code dir}, creating it (all clear, mode 0600) when
     * there is none, and loads the marks a kill -9 or crash left.
     *
     * @throws IOException naming the file when it belongs to another group or other volumes,
     *         or is torn
     */
    public static DirtyMap open(Path dir, String group, List<Long> volumeSizes) throws IOException {
        long[] sizes = new long[volumeSizes.size()];
        long[] bitsAt = new long[sizes.length];
        long end = HEADER_BYTES;
        for (int v = 0; v < sizes.length; v++) {
            sizes[v] = volumeSizes.get(v);
            if (sizes[v] < 0 || sizes[v] > MAX_VOLUME_BYTES) {
                throw new IllegalArgumentException("group " + group + ": volume " + v + " of " + sizes[v]
                        + " bytes is outside what a dirty map covers (0.." + MAX_VOLUME_BYTES + ")");
            }
            bitsAt[v] = end;
            end += (blocks(sizes[v]) + 63) / 64 * 8;
        }
        byte[] name = group.getBytes(StandardCharsets.UTF_8);
        if (24 + 8L * sizes.length + 4 + name.length > HEADER_BYTES) {
            throw new IllegalArgumentException("group " + group + ": too many volumes for one dirty map");
        }
        PrivateFiles.directories(dir);
        Path file = path(dir, group);
        boolean existed = Files.exists(file);
        FileChannel channel = existed
                ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(file, java.util.Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE,
                        StandardOpenOption.CREATE_NEW), PrivateFiles.fileAttribute());
        try {
            if (existed && channel.size() != end) {
                throw new IOException("dirty map " + file + " has " + channel.size() + " bytes, but group " + group
                        + "'s volumes need " + end + ": it was made for other volumes or is torn; move it aside to"
                        + " resync the whole group");
            }
            MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_WRITE, 0, end);
            map.order(ByteOrder.LITTLE_ENDIAN);
            DirtyMap dirty = new DirtyMap(file, group, sizes, bitsAt, channel, map);
            if (existed) {
                dirty.checkHeader(name);
                dirty.load();
            } else {
                dirty.writeHeader(name);
                map.force();
                channel.force(true);
                PrivateFiles.restrict(file);
                forceDirectory(dir);
            }
            return dirty;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static void forceDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private static long blocks(long sizeBytes) {
        return (sizeBytes + BLOCK_BYTES - 1) / BLOCK_BYTES;
    }

    private void writeHeader(byte[] name) {
        map.putLong(0, MAGIC);
        map.putInt(8, FORMAT);
        map.putInt(12, BLOCK_BYTES);
        map.putInt(16, sizes.length);
        for (int v = 0; v < sizes.length; v++) {
            map.putLong(24 + 8 * v, sizes[v]);
        }
        int at = 24 + 8 * sizes.length;
        map.putInt(at, name.length);
        map.put(at + 4, name);
    }

    private void checkHeader(byte[] name) throws IOException {
        if (map.getLong(0) != MAGIC || map.getInt(8) != FORMAT || map.getInt(12) != BLOCK_BYTES) {
            throw new IOException("dirty map " + file + " is not a ferry dirty map of format " + FORMAT
                    + "; move it aside to resync the whole group");
        }
        boolean same = map.getInt(16) == sizes.length;
        for (int v = 0; same && v < sizes.length; v++) {
            same = map.getLong(24 + 8 * v) == sizes[v];
        }
        int at = 24 + 8 * sizes.length;
        if (same) {
            int length = map.getInt(at);
            byte[] stored = new byte[Math.max(0, Math.min(length, HEADER_BYTES - at - 4))];
            map.get(at + 4, stored);
            same = length == name.length && java.util.Arrays.equals(stored, name);
        }
        if (!same) {
            throw new IOException("dirty map " + file + " was made for another group or other volume sizes than"
                    + " group " + group + "'s; move it aside to resync the whole group");
        }
    }

    /** Rebuilds the in-memory marks from the file's bits. */
    private void load() {
        long count = 0;
        for (int v = 0; v < sizes.length; v++) {
            long words = (blocks(sizes[v]) + 63) / 64;
            for (long w = 0; w < words; w++) {
                long bits = map.getLong((int) (bitsAt[v] + w * 8));
                while (bits != 0) {
                    int bit = Long.numberOfTrailingZeros(bits);
                    marked[v].add((int) (w * 64 + bit));
                    bits &= bits - 1;
                }
            }
            marked[v].runOptimize();
            count += marked[v].getLongCardinality();
        }
        dirtyBlocks = count;
    }

    public String group() {
        return group;
    }

    public int volumeCount() {
        return sizes.length;
    }

    /**
     * Marks the blocks {@code [offset, offset + length)} of volume {@code v} touches, in memory
     * and in the mapped file (durable at the next {@link #force}).
     */
    public synchronized void mark(int v, long offset, long length) {
        if (length <= 0) {
            return;
        }
        long first = offset / BLOCK_BYTES;
        long end = Math.min(blocks(sizes[v]), (offset + length + BLOCK_BYTES - 1) / BLOCK_BYTES);
        if (end <= first) {
            return;
        }
        long before = marked[v].rangeCardinality(first, end);
        if (before == end - first) {
            return;
        }
        marked[v].add(first, end);
        setBits(v, first, end, true);
        dirtyBlocks += (end - first) - before;
        unforced = true;
    }

    /**
     * Clears the blocks of {@code [offset, offset + length)} of volume {@code v}, unless the map
     * was refolded since {@code epoch} (returns false then: the marks stay).
     */
    public synchronized boolean clear(long epoch, int v, long offset, long length) {
        if (epoch != this.epoch) {
            return false;
        }
        long first = offset / BLOCK_BYTES;
        long end = Math.min(blocks(sizes[v]), (offset + length + BLOCK_BYTES - 1) / BLOCK_BYTES);
        if (end <= first) {
            return true;
        }
        long before = marked[v].rangeCardinality(first, end);
        if (before == 0) {
            return true;
        }
        marked[v].remove(first, end);
        setBits(v, first, end, false);
        dirtyBlocks -= before;
        unforced = true;
        return true;
    }

    /** Clears every mark unless the map was refolded since {@code epoch} (a whole-group sync ended). */
    public synchronized boolean clearAll(long epoch) {
        if (epoch != this.epoch) {
            return false;
        }
        for (int v = 0; v < sizes.length; v++) {
            if (!marked[v].isEmpty()) {
                marked[v].clear();
                setBits(v, 0, blocks(sizes[v]), false);
            }
        }
        dirtyBlocks = 0;
        unforced = true;
        return true;
    }

    private void setBits(int v, long first, long end, boolean set) {
        long base = bitsAt[v];
        long b = first;
        while (b < end) {
            if ((b & 63) == 0 && end - b >= 64) {
                map.putLong((int) (base + (b >>> 3)), set ? -1L : 0L);
                b += 64;
                continue;
            }
            int index = (int) (base + (b >>> 3));
            int mask = 1 << (b & 7);
            byte old = map.get(index);
            map.put(index, (byte) (set ? old | mask : old & ~mask));
            b++;
        }
    }

    /** The current epoch: a resync notes it when it reads a region and clears with it. */
    public synchronized long epoch() {
        return epoch;
    }

    /** A fold begins: clears noted before it no longer apply. Returns the new epoch. */
    public synchronized long refold() {
        return ++epoch;
    }

    /** Offset of the first marked block of volume {@code v} at or after {@code from}, or -1. */
    public synchronized long nextMarked(int v, long from) {
        if (from >= sizes[v]) {
            return -1;
        }
        long next = marked[v].nextValue((int) (from / BLOCK_BYTES));
        return next < 0 ? -1 : next * BLOCK_BYTES;
    }

    /** A run of marked bytes, clipped to the range asked for. */
    public interface RunConsumer {
        void run(long offset, long length) throws IOException;
    }

    /** Calls {@code consumer} with every marked run inside {@code [from, to)} of volume {@code v}, in order. */
    public void forEachRun(int v, long from, long to, RunConsumer consumer) throws IOException {
        long[] runs;
        synchronized (this) {
            runs = runs(v, from, to);
        }
        for (int i = 0; i < runs.length; i += 2) {
            consumer.run(runs[i], runs[i + 1]);
        }
    }

    private long[] runs(int v, long from, long to) {
        long end = Math.min(to, sizes[v]);
        long[] out = new long[16];
        int n = 0;
        long block = from / BLOCK_BYTES;
        long endBlock = (end + BLOCK_BYTES - 1) / BLOCK_BYTES;
        while (block < endBlock) {
            long start = marked[v].nextValue((int) block);
            if (start < 0 || start >= endBlock) {
                break;
            }
            long stop = Math.min(endBlock, marked[v].nextAbsentValue((int) start));
            if (n + 2 > out.length) {
                out = java.util.Arrays.copyOf(out, out.length * 2);
            }
            long offset = Math.max(from, start * BLOCK_BYTES);
            out[n++] = offset;
            out[n++] = Math.min(end, stop * BLOCK_BYTES) - offset;
            block = stop;
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** Marked bytes inside {@code [from, to)} of volume {@code v} (in whole blocks). */
    public synchronized long markedBytes(int v, long from, long to) {
        long end = Math.min(blocks(sizes[v]), (to + BLOCK_BYTES - 1) / BLOCK_BYTES);
        long first = from / BLOCK_BYTES;
        return end <= first ? 0 : marked[v].rangeCardinality(first, end) * BLOCK_BYTES;
    }

    /** Bytes marked over every volume. Any thread, lock-free. */
    public long dirtyBytes() {
        return dirtyBlocks * BLOCK_BYTES;
    }

    public boolean isEmpty() {
        return dirtyBlocks == 0;
    }

    /** Makes every mark and clear made so far durable; cheap when nothing changed. */
    public void force() {
        if (!unforced) {
            return;
        }
        unforced = false;
        map.force();
    }

    /** Bytes the file takes. */
    public long fileBytes() {
        return HEADER_BYTES + (bitsAt.length == 0 ? 0 : bitsAt[bitsAt.length - 1] - HEADER_BYTES
                + (blocks(sizes[sizes.length - 1]) + 63) / 64 * 8);
    }

    @Override
    public void close() throws IOException {
        try {
            force();
        } finally {
            channel.close();
        }
    }
}
