package io.ferry.volume;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The real volume behind an export: a raw file (or block device node) written with positional
 * I/O. Positional reads and writes are thread-safe on a {@link FileChannel}; the pipeline thread
 * writes, event loops read, the group's sync thread forces.
 */
public final class VolumeFile implements AutoCloseable {
    private static final int ZERO_CHUNK_BYTES = 1 << 20;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES).asReadOnlyBuffer();

    private final Path path;
    private final FileChannel channel;
    private static final long HOLE_ALIGN_BYTES = 4096;

    private final long sizeBytes;
    private final boolean readOnly;
    private final SparseRegions sparse;

    private VolumeFile(Path path, FileChannel channel, long sizeBytes, boolean readOnly) {
        this.path = path;
        this.channel = channel;
        this.sizeBytes = sizeBytes;
        this.readOnly = readOnly;
        this.sparse = SparseRegions.open(path, readOnly);
    }

    /** Opens an existing file (or block device node); its current length is the volume's size. */
    public static VolumeFile open(Path path, boolean readOnly) throws IOException {
        FileChannel channel;
        try {
            channel = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new java.nio.file.NoSuchFileException(path.toString(), null, "volume file does not exist");
        }
        try {
            return new VolumeFile(path, channel, channel.size(), readOnly);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Opens the file, creating it sparse at {@code sizeBytes} when it does not exist. An existing
     * file keeps its content; a size that disagrees with {@code sizeBytes} is an error, since
     * silently growing or cutting a volume would corrupt whatever lives on it.
     */
    public static VolumeFile openOrCreate(Path path, long sizeBytes) throws IOException {
        FileChannel channel;
        if (Files.exists(path)) {
            channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            long actual = channel.size();
            if (actual != sizeBytes) {
                channel.close();
                throw new IOException("volume file " + path + " is " + actual + " bytes but its configured size is "
                        + sizeBytes + " bytes; fix 'size' in the configuration (ferry never resizes a volume)");
            }
        } else {
            channel = FileChannel.open(path, java.util.Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE,
                    StandardOpenOption.CREATE_NEW, StandardOpenOption.SPARSE), io.ferry.daemon.PrivateFiles.fileAttribute());
            io.ferry.daemon.PrivateFiles.restrict(path);
            // setLength extends with a hole: no block of the new volume is allocated.
            try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(path.toFile(), "rw")) {
                file.setLength(sizeBytes);
            }
        }
        return new VolumeFile(path, channel, sizeBytes, false);
    }

    public Path path() {
        return path;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    public boolean isReadOnly() {
        return readOnly;
    }

    /** Writes all remaining bytes of {@code src} at {@code offset}; {@code src}'s position is left unchanged. */
    public void write(long offset, ByteBuffer src) throws IOException {
        ByteBuffer view = src.duplicate();
        long position = offset;
        while (view.hasRemaining()) {
            position += channel.write(view, position);
        }
    }

    /** Reads exactly {@code dst.remaining()} bytes at {@code offset}; past the end of file reads zeroes. */
    public void read(long offset, ByteBuffer dst) throws IOException {
        long position = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, position);
            if (n < 0) {
                while (dst.hasRemaining()) {
                    dst.put((byte) 0);
                }
                return;
            }
            position += n;
        }
    }

    /**
     * Reads {@code length} bytes at {@code offset} into {@code dst} at its writer index and
     * advances that index (an NBD READ's reply buffer); on failure {@code dst} is left as it was.
     */
    public void read(long offset, int length, io.netty.buffer.ByteBuf dst) throws IOException {
        int writerIndex = dst.writerIndex();
        dst.ensureWritable(length);
        if (dst.nioBufferCount() == 1) {
            read(offset, dst.nioBuffer(writerIndex, length));
        } else {
            ByteBuffer copy = ByteBuffer.allocate(length);
            read(offset, copy);
            dst.setBytes(writerIndex, copy.flip());
        }
        dst.writerIndex(writerIndex + length);
    }

    /**
     * Makes {@code [offset, offset + length)} read back as zeroes: the 4 KiB-aligned middle is
     * deallocated (a hole punched) where the file system can, the rest written with zeroes a
     * chunk at a time, so memory stays bounded and a trim of the whole volume costs no data.
     */
    public void zero(long offset, long length) throws IOException {
        long end = offset + length;
        long holeStart = (offset + HOLE_ALIGN_BYTES - 1) & -HOLE_ALIGN_BYTES;
        long holeEnd = end & -HOLE_ALIGN_BYTES;
        if (sparse != null && holeEnd > holeStart && sparse.punchHole(holeStart, holeEnd - holeStart)) {
            writeZeroes(offset, holeStart - offset);
            writeZeroes(holeEnd, end - holeEnd);
        } else {
            writeZeroes(offset, length);
        }
    }

    /**
     * Reports {@code [offset, offset + length)} as runs of data and holes, in order, at most
     * {@code maxRuns} of them (the last may end short of the range). Without hole information
     * the whole range is data.
     */
    public void allocation(long offset, long length, int maxRuns, RunSink sink) {
        long end = offset + length;
        long position = offset;
        for (int runs = 0; runs < maxRuns && position < end; runs++) {
            long data = sparse == null ? position : sparse.nextData(position, end);
            if (data < 0) {
                data = position;
            }
            if (data > position) {
                sink.run(data - position, true);
                position = data;
            } else {
                long hole = sparse == null ? end : sparse.nextHole(position, end);
                if (hole <= position) {
                    hole = end;
                }
                sink.run(hole - position, false);
                position = hole;
            }
        }
    }

    /**
     * Whether the file holds no data: a hole end to end where the file system reports holes,
     * else (or where it reports data) every byte reads as zero.
     */
    public boolean holdsNoData() throws IOException {
        long[] dataAt = {-1};
        long[] position = {0};
        allocation(0, sizeBytes(), Integer.MAX_VALUE, (length, hole) -> {
            if (!hole && dataAt[0] < 0) {
                dataAt[0] = position[0];
            }
            position[0] += length;
        });
        if (dataAt[0] < 0) {
            return true;
        }
        ByteBuffer chunk = ByteBuffer.allocate(ZERO_CHUNK_BYTES);
        for (long at = dataAt[0]; at < sizeBytes(); at += ZERO_CHUNK_BYTES) {
            chunk.clear().limit((int) Math.min(ZERO_CHUNK_BYTES, sizeBytes() - at));
            read(at, chunk);
            if (!Zeroes.allZero(chunk, 0, chunk.limit())) {
                return false;
            }
        }
        return true;
    }

    /** Receives allocation runs. */
    @FunctionalInterface
    public interface RunSink {
        void run(long lengthBytes, boolean hole);
    }

    private void writeZeroes(long offset, long length) throws IOException {
        long position = offset;
        long end = offset + length;
        while (position < end) {
            ByteBuffer chunk = ZEROES.duplicate();
            chunk.limit((int) Math.min(ZERO_CHUNK_BYTES, end - position));
            while (chunk.hasRemaining()) {
                position += channel.write(chunk, position);
            }
        }
    }

    /** True while zeroing deallocates instead of writing zeroes. */
    public boolean punchesHoles() {
        return sparse != null && sparse.canPunch();
    }

    /** Puts every write done so far on stable storage. */
    public void force() throws IOException {
        channel.force(false);
    }

    @Override
    public void close() {
        if (sparse != null) {
            sparse.close();
        }
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + path, e);
        }
    }
}
