package io.ferry.nbd;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A {@link BlockDevice} over a regular (typically sparse) file.
 *
 * <p>Threads: READ and WRITE are positional FileChannel calls on the caller's thread (they touch
 * the page cache, never sync). Syncs (FLUSH, FUA) and WRITE_ZEROES run on the device's own worker
 * thread, which batches them: all syncs waiting when it wakes share one {@code force}, so
 * concurrent flushes cost one fdatasync (group commit). Since every connection shares the one
 * file, a flush covers writes from all connections.
 *
 * <p>WRITE_ZEROES is sparse-friendly: chunks that already read back as zeroes (holes included) are
 * left alone rather than allocated. TRIM is accepted and ignored (allowed by the protocol: content
 * after a trim is unspecified), as Java offers no hole punching.
 */
public final class FileBlockDevice implements BlockDevice, AutoCloseable {

    private static final int ZERO_CHUNK_BYTES = 1 << 20;
    private static final int ZERO_BLOCK_BYTES = 4096;

    private final Path file;
    private final FileChannel channel;
    private final long sizeBytes;
    private final boolean readOnly;
    private final Object enqueueLock = new Object();
    private final LinkedBlockingQueue<Task> tasks = new LinkedBlockingQueue<>();
    private final Thread worker;
    private boolean closed; // guarded by enqueueLock

    private FileBlockDevice(Path file, FileChannel channel, long sizeBytes, boolean readOnly) {
        this.file = file;
        this.channel = channel;
        this.sizeBytes = sizeBytes;
        this.readOnly = readOnly;
        this.worker = new Thread(this::runWorker, "ferry-file-sync-" + file.getFileName());
        this.worker.setDaemon(true);
        this.worker.start();
    }

    /** Opens an existing file; its current length is the device size. */
    public static FileBlockDevice open(Path file, boolean readOnly) throws IOException {
        OpenOption[] options = readOnly
                ? new OpenOption[] {StandardOpenOption.READ}
                : new OpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
        FileChannel channel;
        try {
            channel = FileChannel.open(file, options);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "block device file does not exist");
        }
        return new FileBlockDevice(file, channel, channel.size(), readOnly);
    }

    /**
     * Opens {@code file} read-write, creating it sparse with {@code sizeBytes} when missing. An
     * existing file must have exactly that size.
     */
    public static FileBlockDevice openOrCreate(Path file, long sizeBytes) throws IOException {
        if (sizeBytes <= 0) {
            throw new IllegalArgumentException("block device size must be positive, got " + sizeBytes);
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.CREATE);
        try {
            long existing = channel.size();
            if (existing == 0) {
                // A new (or empty) file: extend without writing data, so it stays sparse.
                channel.write(ByteBuffer.allocate(1), sizeBytes - 1);
                channel.force(true);
            } else if (existing != sizeBytes) {
                throw new IOException("block device file " + file + " has " + existing + " bytes but "
                        + sizeBytes + " are configured: fix the size or move the file away");
            }
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return new FileBlockDevice(file, channel, sizeBytes, false);
    }

    public Path file() {
        return file;
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public boolean flushCoversAllConnections() {
        return true;
    }

    @Override
    public void read(long offset, int length, ByteBuf dst, IoCompletion done) {
        int start = dst.writerIndex();
        dst.ensureWritable(length);
        int errno = NbdErrors.OK;
        try {
            int filled = 0;
            while (filled < length) {
                int n = dst.setBytes(start + filled, channel, offset + filled, length - filled);
                if (n < 0) {
                    if (!channel.isOpen()) {
                        throw new ClosedChannelException(); // Netty reports a closed channel as EOF
                    }
                    dst.setZero(start + filled, length - filled); // past the file's end: zeroes
                    break;
                }
                filled += n;
            }
            dst.writerIndex(start + length);
        } catch (IOException e) {
            errno = errnoOf(e);
        }
        done.complete(errno);
    }

    @Override
    public void write(long offset, ByteBuf data, boolean fua, IoCompletion done) {
        int errno = NbdErrors.OK;
        try {
            int length = data.readableBytes();
            int index = data.readerIndex();
            int written = 0;
            while (written < length) {
                written += data.getBytes(index + written, channel, offset + written, length - written);
            }
        } catch (IOException e) {
            errno = errnoOf(e);
        } finally {
            data.release();
        }
        if (errno == NbdErrors.OK && fua) {
            enqueue(new Task(Task.SYNC, 0, 0, false, done));
        } else {
            done.complete(errno);
        }
    }

    @Override
    public void writeZeroes(long offset, long length, boolean fua, IoCompletion done) {
        enqueue(new Task(Task.ZERO, offset, length, fua, done));
    }

    @Override
    public void trim(long offset, long length, boolean fua, IoCompletion done) {
        done.complete(NbdErrors.OK);
    }

    @Override
    public void flush(IoCompletion done) {
        enqueue(new Task(Task.SYNC, 0, 0, false, done));
    }

    /** Stops the worker (pending work completes first) and closes the file. */
    @Override
    public void close() throws IOException {
        synchronized (enqueueLock) {
            if (closed) {
                return;
            }
            closed = true;
            tasks.add(Task.STOP_TASK);
        }
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            channel.close();
        }
    }

    private void enqueue(Task task) {
        synchronized (enqueueLock) {
            if (!closed) {
                tasks.add(task);
                return;
            }
        }
        task.done.complete(NbdErrors.ESHUTDOWN);
    }

    /** The worker: runs zeroing in order and answers every waiting sync with one force. */
    private void runWorker() {
        List<Task> batch = new ArrayList<>();
        List<IoCompletion> syncWaiters = new ArrayList<>();
        ByteBuffer scratch = ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES);
        ByteBuffer zeroes = ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES);
        boolean stop = false;
        while (!stop) {
            try {
                batch.add(tasks.take());
            } catch (InterruptedException e) {
                // Only close() stops the worker; keep serving.
                continue;
            }
            tasks.drainTo(batch);
            for (Task task : batch) {
                switch (task.kind) {
                    case Task.STOP -> stop = true;
                    case Task.SYNC -> syncWaiters.add(task.done);
                    case Task.ZERO -> {
                        int errno = zeroRange(task.offset, task.length, scratch, zeroes);
                        if (errno == NbdErrors.OK && task.fua) {
                            syncWaiters.add(task.done);
                        } else {
                            task.done.complete(errno);
                        }
                    }
                    default -> throw new IllegalStateException("unknown task kind " + task.kind);
                }
            }
            batch.clear();
            if (!syncWaiters.isEmpty()) {
                int errno = NbdErrors.OK;
                try {
                    channel.force(false);
                } catch (IOException e) {
                    errno = errnoOf(e);
                }
                for (IoCompletion waiter : syncWaiters) {
                    waiter.complete(errno);
                }
                syncWaiters.clear();
            }
        }
    }

    private int zeroRange(long offset, long length, ByteBuffer scratch, ByteBuffer zeroes) {
        try {
            long fileBytes = channel.size();
            long end = Math.min(offset + length, fileBytes);
            long position = offset;
            while (position < end) {
                int chunk = (int) Math.min(ZERO_CHUNK_BYTES, end - position);
                scratch.clear().limit(chunk);
                while (scratch.hasRemaining()) {
                    if (channel.read(scratch, position + scratch.position()) < 0) {
                        break;
                    }
                }
                int filled = scratch.position();
                // Rewrite only the 4 KiB blocks that are not zero already, so holes stay holes.
                int block = 0;
                while (block < chunk) {
                    int blockEnd = Math.min(chunk, block + ZERO_BLOCK_BYTES);
                    if (isZero(scratch, zeroes, block, Math.min(blockEnd, filled))) {
                        block = blockEnd;
                        continue;
                    }
                    int runStart = block;
                    while (block < chunk && !isZero(scratch, zeroes, block,
                            Math.min(Math.min(chunk, block + ZERO_BLOCK_BYTES), filled))) {
                        block = Math.min(chunk, block + ZERO_BLOCK_BYTES);
                    }
                    zeroes.clear().limit(block - runStart);
                    while (zeroes.hasRemaining()) {
                        channel.write(zeroes, position + runStart + zeroes.position());
                    }
                }
                position += chunk;
            }
            return NbdErrors.OK;
        } catch (IOException e) {
            return errnoOf(e);
        }
    }

    /** True when {@code scratch[from, to)} is all zeroes (an empty range is). */
    private static boolean isZero(ByteBuffer scratch, ByteBuffer zeroes, int from, int to) {
        if (to <= from) {
            return true;
        }
        return scratch.slice(from, to - from).mismatch(zeroes.clear().limit(to - from)) == -1;
    }

    private static int errnoOf(IOException e) {
        if (e instanceof ClosedChannelException) {
            return NbdErrors.ESHUTDOWN;
        }
        String message = e.getMessage();
        if (message != null && message.contains("No space left")) {
            return NbdErrors.ENOSPC;
        }
        return NbdErrors.EIO;
    }

    /** Work for the worker thread. */
    private record Task(int kind, long offset, long length, boolean fua, IoCompletion done) {
        static final int SYNC = 0;
        static final int ZERO = 1;
        static final int STOP = 2;
        static final Task STOP_TASK = new Task(STOP, 0, 0, false, errno -> { });
    }
}
