package io.ferry.agent.pipeline;

import io.ferry.agent.journal.Journal;
import io.ferry.agent.journal.JournalReader;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A journal in memory for pipeline tests: records what was appended and can hold appends and
 * syncs back (a stalled disk) until the test releases them.
 */
public final class InMemoryJournal implements Journal {
    public record Record(String volume, long seq, long offset, long length, long captureNanos, byte type, byte[] data) {
    }

    public final List<Record> records = java.util.Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger syncs = new AtomicInteger();
    volatile CountDownLatch syncGate = new CountDownLatch(0);
    /** Appends wait for this latch: a disk that stalls until the test counts it down. */
    public volatile CountDownLatch appendGate = new CountDownLatch(0);
    volatile RuntimeException appendFailure;
    private long lastSeq;

    @Override
    public String group() {
        return "g";
    }

    @Override
    public void append(String volume, long seq, long offset, long length, long captureNanos, byte type, ByteBuffer data) {
        try {
            appendGate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (appendFailure != null) {
            throw appendFailure;
        }
        if (seq != lastSeq + 1) {
            throw new IllegalArgumentException("seq " + seq + " after " + lastSeq);
        }
        byte[] bytes = null;
        if (data != null) {
            bytes = new byte[data.remaining()];
            data.duplicate().get(bytes);
        }
        records.add(new Record(volume, seq, offset, length, captureNanos, type, bytes));
        lastSeq = seq;
    }

    @Override
    public void sync() {
        try {
            syncGate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        syncs.incrementAndGet();
    }

    @Override
    public long lastSeq() {
        return lastSeq;
    }

    @Override
    public long firstSeq() {
        return 1;
    }

    @Override
    public JournalReader reader(long fromSeq) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void release(long seq) {
    }

    @Override
    public long bytesOnDisk() {
        return 0;
    }

    @Override
    public void close() {
    }
}
