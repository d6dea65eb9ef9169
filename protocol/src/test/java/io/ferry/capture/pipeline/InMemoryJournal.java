package io.ferry.capture.pipeline;

import io.ferry.capture.journal.Journal;
import io.ferry.capture.journal.JournalEntry;
import io.ferry.capture.journal.JournalReader;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A journal in memory for pipeline and shipper tests: records what was appended, can hold
 * appends and syncs back (a stalled disk) until the test releases them, and its readers can be
 * made to fail (a journal that cannot be read).
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
    /** Thrown by every reader's next() while set. */
    public volatile RuntimeException readFailure;
    private volatile long lastSeq;
    private volatile long releasedSeq;
    /** The seq before the first record in {@link #records} (moved by {@link #startOver}). */
    private volatile long base;

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

    /** The last seq appended before a sync began: a host crash keeps at least the records up to it. */
    public volatile long syncedSeq;

    /**
     * The journal a host crash leaves: the records this one holds up to {@code keepUpTo} (at
     * least {@link #syncedSeq}: those were synced), from the same first seq.
     */
    public InMemoryJournal crashCopy(long keepUpTo) {
        if (keepUpTo < syncedSeq || keepUpTo > lastSeq) {
            throw new IllegalArgumentException("a crash keeps the synced records up to " + syncedSeq + " and at most "
                    + lastSeq + ", not " + keepUpTo);
        }
        InMemoryJournal copy = new InMemoryJournal();
        synchronized (records) {
            copy.startOver(releasedSeq);
            for (Record r : records) {
                if (r.seq() > releasedSeq && r.seq() <= keepUpTo) {
                    copy.records.add(r);
                    copy.lastSeq = r.seq();
                }
            }
        }
        copy.syncedSeq = copy.lastSeq;
        return copy;
    }

    @Override
    public void sync() {
        long upTo = lastSeq;
        try {
            syncGate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        syncs.incrementAndGet();
        if (upTo > syncedSeq) {
            syncedSeq = upTo;
        }
    }

    @Override
    public long lastSeq() {
        return lastSeq;
    }

    @Override
    public long firstSeq() {
        return releasedSeq + 1;
    }

    /** Highest seq released so far (0 for none). */
    public long releasedSeq() {
        return releasedSeq;
    }

    @Override
    public JournalReader reader(long fromSeq) {
        if (fromSeq < firstSeq()) {
            throw new IllegalArgumentException("seq " + fromSeq + " was released");
        }
        return new JournalReader() {
            private long nextSeq = fromSeq;

            @Override
            public boolean next(JournalEntry into) {
                RuntimeException failure = readFailure;
                if (failure != null) {
                    throw failure;
                }
                if (nextSeq > lastSeq) {
                    return false;
                }
                Record r;
                synchronized (records) {
                    r = records.get((int) (nextSeq - base - 1));
                }
                ByteBuffer payload = into.set(r.volume(), r.seq(), r.offset(), r.length(), r.captureNanos(), r.type(),
                        r.data() == null ? 0 : r.data().length);
                if (r.data() != null) {
                    payload.put(r.data()).flip();
                }
                nextSeq++;
                return true;
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public void release(long seq) {
        if (seq > releasedSeq) {
            releasedSeq = Math.min(seq, lastSeq);
        }
    }

    @Override
    public void startOver(long seq) {
        synchronized (records) {
            records.clear();
            base = seq;
            lastSeq = seq;
            releasedSeq = seq;
        }
    }

    /** Bytes a test says the journal takes (the pipeline's budget reads it). */
    public volatile long bytesOnDisk;

    @Override
    public long bytesOnDisk() {
        return bytesOnDisk;
    }

    @Override
    public void close() {
    }
}
