package io.ferry.agent.store;

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
public final class BackingFile implements AutoCloseable {
    private static final int ZERO_CHUNK_BYTES = 1 << 20;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES).asReadOnlyBuffer();

    private final Path path;
    private final FileChannel channel;
    private final long sizeBytes;

    private BackingFile(Path path, FileChannel channel, long sizeBytes) {
        this.path = path;
        this.channel = channel;
        this.sizeBytes = sizeBytes;
    }

    /**
     * Opens the file, creating it sparse at {@code sizeBytes} when it does not exist. An existing
     * file keeps its content; a size that disagrees with {@code sizeBytes} is an error, since
     * silently growing or cutting a volume would corrupt whatever lives on it.
     */
    public static BackingFile openOrCreate(Path path, long sizeBytes) throws IOException {
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
            channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    StandardOpenOption.CREATE_NEW, StandardOpenOption.SPARSE);
            if (sizeBytes > 0) {
                channel.write(ByteBuffer.allocate(1), sizeBytes - 1);
            }
        }
        return new BackingFile(path, channel, sizeBytes);
    }

    public Path path() {
        return path;
    }

    public long sizeBytes() {
        return sizeBytes;
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

    /** Makes {@code [offset, offset + length)} read back as zeroes, a chunk at a time (memory stays bounded). */
    public void zero(long offset, long length) throws IOException {
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

    /** Puts every write done so far on stable storage. */
    public void force() throws IOException {
        channel.force(false);
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + path, e);
        }
    }
}
