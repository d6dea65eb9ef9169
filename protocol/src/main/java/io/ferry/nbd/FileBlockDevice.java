package io.ferry.nbd;

import io.ferry.volume.VolumeFile;
import io.ferry.worker.Worker;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.Agent;

/**
 * A {@link BlockDevice} over a {@link VolumeFile}: a raw, typically sparse file (a promoted
 * replica, a test disk).
 *
 * <p>Threads: READ and WRITE are positional calls on the caller's thread (they touch the page
 * cache, never sync). Syncs (FLUSH, FUA), WRITE_ZEROES and TRIM run on the device's own
 * {@link Worker} ({@code ferry-file-<name>}), which owns the queue of that work and batches the
 * syncs: all syncs waiting when it wakes share one {@code force}, so concurrent flushes cost one
 * fdatasync (group commit). Since every connection shares the one file, a flush covers writes
 * from all connections.
 *
 * <p>WRITE_ZEROES and TRIM punch holes where the file system can ({@link VolumeFile#zero}), so
 * the file stays sparse, and BLOCK_STATUS reports the holes (HOLE|ZERO), so qemu-img and nbdcopy
 * skip them.
 */
public final class FileBlockDevice implements BlockDevice, AutoCloseable {
    /** Bounds one BLOCK_STATUS reply. */
    private static final int MAX_EXTENTS = 1024;
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final VolumeFile file;
    private final Object enqueueLock = new Object();
    private final ConcurrentLinkedQueue<Task> tasks = new ConcurrentLinkedQueue<>();
    private final Worker worker;
    private boolean closed; // guarded by enqueueLock

    private FileBlockDevice(VolumeFile file) {
        this.file = file;
        this.worker = Worker.start(new SyncAgent("ferry-file-" + file.path().getFileName()), IDLE_PARK_NANOS);
    }

    /** Opens an existing file; its current length is the device size. */
    public static FileBlockDevice open(Path file, boolean readOnly) throws IOException {
        return new FileBlockDevice(VolumeFile.open(file, readOnly));
    }

    /**
     * Opens {@code file} read-write, creating it sparse with {@code sizeBytes} when missing. An
     * existing file must have exactly that size.
     */
    public static FileBlockDevice openOrCreate(Path file, long sizeBytes) throws IOException {
        if (sizeBytes <= 0) {
            throw new IllegalArgumentException("block device size must be positive, got " + sizeBytes);
        }
        if (Files.exists(file) && Files.size(file) == 0) {
            Files.delete(file); // an empty file (a leftover of a crash during creation) is created anew
        }
        return new FileBlockDevice(VolumeFile.openOrCreate(file, sizeBytes));
    }

    public Path file() {
        return file.path();
    }

    @Override
    public long sizeBytes() {
        return file.sizeBytes();
    }

    @Override
    public boolean isReadOnly() {
        return file.isReadOnly();
    }

    @Override
    public boolean flushCoversAllConnections() {
        return true;
    }

    @Override
    public boolean canZeroFast() {
        return file.punchesHoles();
    }

    @Override
    public void read(long offset, int length, ByteBuf dst, IoCompletion done) {
        int errno = NbdErrors.OK;
        try {
            file.read(offset, length, dst);
        } catch (IOException e) {
            errno = errnoOf(e);
        }
        done.complete(errno);
    }

    @Override
    public void write(long offset, ByteBuf data, boolean fua, IoCompletion done) {
        int errno = NbdErrors.OK;
        try {
            int index = data.readerIndex();
            long position = offset;
            for (ByteBuffer part : data.nioBuffers(index, data.readableBytes())) {
                file.write(position, part);
                position += part.remaining();
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

    /** A trim deallocates like a zeroing: the range then reads as zeroes (allowed: trimmed content is unspecified). */
    @Override
    public void trim(long offset, long length, boolean fua, IoCompletion done) {
        enqueue(new Task(Task.ZERO, offset, length, fua, done));
    }

    @Override
    public void flush(IoCompletion done) {
        enqueue(new Task(Task.SYNC, 0, 0, false, done));
    }

    /** Holes read as zeroes, so they are reported as HOLE|ZERO. */
    @Override
    public void blockStatus(long offset, long length, ExtentSink sink) {
        file.allocation(offset, length, MAX_EXTENTS, (runBytes, hole) -> sink.extent(runBytes, hole ? 3 : 0));
    }

    /** Stops the worker (work queued before completes first) and closes the file. */
    @Override
    public void close() throws IOException {
        synchronized (enqueueLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            worker.close(); // its onClose runs what was queued before 'closed' was set
        } finally {
            file.close();
        }
    }

    private void enqueue(Task task) {
        synchronized (enqueueLock) {
            if (!closed) {
                tasks.add(task);
                worker.wake();
                return;
            }
        }
        task.done.complete(NbdErrors.ESHUTDOWN);
    }

    /** The worker's unit of work: zeroing in order, then one force for every waiting sync. */
    private final class SyncAgent implements Agent {
        private final String roleName;
        private final List<IoCompletion> syncWaiters = new ArrayList<>();

        SyncAgent(String roleName) {
            this.roleName = roleName;
        }

        @Override
        public int doWork() {
            int done = 0;
            Task task;
            while ((task = tasks.poll()) != null) {
                done++;
                if (task.kind == Task.SYNC) {
                    syncWaiters.add(task.done);
                    continue;
                }
                int errno = zero(task.offset, task.length);
                if (errno == NbdErrors.OK && task.fua) {
                    syncWaiters.add(task.done);
                } else {
                    task.done.complete(errno);
                }
            }
            if (!syncWaiters.isEmpty()) {
                int errno = NbdErrors.OK;
                try {
                    file.force();
                } catch (IOException e) {
                    errno = errnoOf(e);
                }
                for (IoCompletion waiter : syncWaiters) {
                    waiter.complete(errno);
                }
                syncWaiters.clear();
            }
            return done;
        }

        @Override
        public void onClose() {
            doWork();
        }

        @Override
        public String roleName() {
            return roleName;
        }
    }

    private int zero(long offset, long length) {
        try {
            file.zero(offset, length);
            return NbdErrors.OK;
        } catch (IOException e) {
            return errnoOf(e);
        }
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
    }
}
