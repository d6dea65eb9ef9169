package io.ferry.nbd;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * A thread-safe in-memory {@link BlockDevice} for tests. Records every call as a line of text,
 * can fail the next call with an errno, and can hold completions back so the test releases them
 * in any order (to drive out-of-order replies).
 */
final class MemoryBlockDevice implements BlockDevice {

    static final int BLOCK_BYTES = 4096;

    private final byte[] data;
    private final boolean readOnly;
    private final boolean multiConn;
    private final List<String> calls = new ArrayList<>();
    private final Deque<Runnable> held = new ArrayDeque<>();
    private boolean holding;
    private int failNextErrno;

    MemoryBlockDevice(int sizeBytes) {
        this(sizeBytes, false, true);
    }

    MemoryBlockDevice(int sizeBytes, boolean readOnly, boolean multiConn) {
        this.data = new byte[sizeBytes];
        this.readOnly = readOnly;
        this.multiConn = multiConn;
    }

    synchronized void failNext(int errno) {
        failNextErrno = errno;
    }

    /** From now on completions wait in a queue until {@link #releaseNewestFirst} or {@link #releaseAll}. */
    synchronized void hold() {
        holding = true;
    }

    synchronized int heldCount() {
        return held.size();
    }

    void releaseNewestFirst() {
        List<Runnable> toRun = new ArrayList<>();
        synchronized (this) {
            holding = false;
            while (!held.isEmpty()) {
                toRun.add(held.pollLast());
            }
        }
        toRun.forEach(Runnable::run);
    }

    void releaseAll() {
        List<Runnable> toRun = new ArrayList<>();
        synchronized (this) {
            holding = false;
            while (!held.isEmpty()) {
                toRun.add(held.pollFirst());
            }
        }
        toRun.forEach(Runnable::run);
    }

    synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    synchronized byte[] contents(int offset, int length) {
        return Arrays.copyOfRange(data, offset, offset + length);
    }

    synchronized void fill(int offset, int length, byte value) {
        Arrays.fill(data, offset, offset + length, value);
    }

    @Override
    public long sizeBytes() {
        return data.length;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public boolean flushCoversAllConnections() {
        return multiConn;
    }

    @Override
    public void read(long offset, int length, ByteBuf dst, IoCompletion done) {
        int errno;
        synchronized (this) {
            calls.add("read " + offset + "+" + length);
            errno = takeFailure();
            if (errno == 0) {
                dst.writeBytes(data, (int) offset, length);
            }
        }
        finish(done, errno);
    }

    @Override
    public void write(long offset, ByteBuf payload, boolean fua, IoCompletion done) {
        int errno;
        try {
            synchronized (this) {
                calls.add("write " + offset + "+" + payload.readableBytes() + (fua ? " fua" : ""));
                errno = takeFailure();
                if (errno == 0) {
                    payload.getBytes(payload.readerIndex(), data, (int) offset, payload.readableBytes());
                }
            }
        } finally {
            payload.release();
        }
        finish(done, errno);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean fua, IoCompletion done) {
        int errno;
        synchronized (this) {
            calls.add("zero " + offset + "+" + length + (fua ? " fua" : ""));
            errno = takeFailure();
            if (errno == 0) {
                Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
            }
        }
        finish(done, errno);
    }

    @Override
    public void trim(long offset, long length, boolean fua, IoCompletion done) {
        int errno;
        synchronized (this) {
            calls.add("trim " + offset + "+" + length + (fua ? " fua" : ""));
            errno = takeFailure();
        }
        finish(done, errno);
    }

    @Override
    public void flush(IoCompletion done) {
        int errno;
        synchronized (this) {
            calls.add("flush");
            errno = takeFailure();
        }
        finish(done, errno);
    }

    /** Blocks of all zeroes are reported as HOLE|ZERO, others as data; neighbours merged. */
    @Override
    public synchronized void blockStatus(long offset, long length, ExtentSink sink) {
        calls.add("status " + offset + "+" + length);
        long position = offset;
        long end = offset + length;
        long runStart = position;
        int runFlags = -1;
        while (position < end) {
            long blockEnd = Math.min(end, (position / BLOCK_BYTES + 1) * BLOCK_BYTES);
            boolean zero = true;
            for (long i = position; i < blockEnd && zero; i++) {
                zero = data[(int) i] == 0;
            }
            int flags = zero ? NbdProtocol.STATE_HOLE | NbdProtocol.STATE_ZERO : 0;
            if (runFlags != -1 && flags != runFlags) {
                sink.extent(position - runStart, runFlags);
                runStart = position;
            }
            runFlags = flags;
            position = blockEnd;
        }
        if (runFlags != -1) {
            sink.extent(end - runStart, runFlags);
        }
    }

    private int takeFailure() {
        int errno = failNextErrno;
        failNextErrno = 0;
        return errno;
    }

    private void finish(IoCompletion done, int errno) {
        synchronized (this) {
            if (holding) {
                held.add(() -> done.complete(errno));
                return;
            }
        }
        done.complete(errno);
    }
}
