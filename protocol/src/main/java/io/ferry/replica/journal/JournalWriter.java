package io.ferry.replica.journal;

import io.ferry.metrics.LatencyRecorder;
import io.ferry.worker.Worker;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentTerminationException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The group's journal worker ({@code ferry-journal-<group>}, an {@link Worker}): takes appends handed over by the
 * session, writes them to the {@link DeltaJournal} and syncs in groups (BookKeeper's journal /
 * force-write idea on one thread): it appends whatever is queued, up to
 * {@code maxBatchBytes}, then syncs once, publishes the new durable seq, tells the applier
 * ({@code onSynced}) and calls each append's {@code onDurable} in append order. While it syncs,
 * new appends queue up and go into the next batch, so the sync rate adapts to the load.
 *
 * <p>Threads: {@link #append} and {@link #whenDurable} may be called from any thread (the
 * session's event loop); they never block on disk. The journal thread owns the journal's
 * appender. If a journal write or sync fails, the writer stops for good: {@link #failure()}
 * says why, queued bodies are released, no further {@code onDurable} is called and later
 * appends throw {@link IllegalStateException}.
 */
public final class JournalWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JournalWriter.class);

    /** A queued append, or (body == null) a {@link #whenDurable} marker or (barrier set) a {@link #barrier}. */
    private record Request(ByteBuf body, long firstSeq, long lastSeq, long captureNanos, LongConsumer onDurable,
                           Barrier barrier) {
        Request(ByteBuf body, long firstSeq, long lastSeq, long captureNanos, LongConsumer onDurable) {
            this(body, firstSeq, lastSeq, captureNanos, onDurable, null);
        }
    }

    /** Work the journal thread runs between two appends (it may block on disk). */
    @FunctionalInterface
    public interface Barrier {
        void run() throws java.io.IOException;
    }

    /** Safety net only: every hand-over wakes the worker. */
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final DeltaJournal journal;
    private final String group;
    private final long maxBatchBytes;
    private final Runnable onSynced;
    private final ConcurrentLinkedQueue<Request> queue = new ConcurrentLinkedQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    /** Owned by the worker thread. */
    private final List<Request> batch = new ArrayList<>();
    private volatile Worker worker;

    /** Guarded by this: the seq check and the hand-over happen together. */
    private long receivedSeq;
    private boolean closing;

    private volatile long durableSeq;
    private volatile long lastDurableCaptureNanos;
    private volatile String failure;
    private volatile LatencyRecorder syncLatency = LatencyRecorder.NOOP;

    /**
     * @param onSynced called on the journal thread after each sync that made new records durable
     *        (the applier's wake-up), before the {@code onDurable} callbacks
     */
    public JournalWriter(DeltaJournal journal, long maxBatchBytes, Runnable onSynced) {
        if (maxBatchBytes <= 0) {
            throw new IllegalArgumentException("maxBatchBytes must be > 0, got " + maxBatchBytes);
        }
        this.journal = journal;
        this.group = journal.group();
        this.maxBatchBytes = maxBatchBytes;
        this.onSynced = onSynced;
        this.receivedSeq = journal.lastSeq();
        this.durableSeq = journal.lastSeq(); // DeltaJournal.open synced what it recovered
        this.lastDurableCaptureNanos = journal.lastCaptureNanos();
    }

    /** Starts the journal worker; at most once. */
    public synchronized void start() {
        if (worker != null) {
            throw new IllegalStateException("journal writer of group " + group + " runs already");
        }
        worker = Worker.start(new JournalAgent(), IDLE_PARK_NANOS);
    }

    /** Where the journal thread records each sync's time (set at assembly). */
    public void syncLatency(LatencyRecorder recorder) {
        this.syncLatency = recorder;
    }

    /**
     * Hands one DELTA body over to the journal thread, taking ownership of one reference to it.
     * Never blocks on disk. Once the record is synced, {@code onDurable} is called on the journal
     * thread with the durable seq after that sync (at least {@code lastSeq}; all appends synced
     * together get the same value), in append order.
     *
     * @throws IllegalArgumentException if {@code firstSeq != receivedSeq() + 1} or {@code lastSeq < firstSeq}
     * @throws IllegalStateException if the writer is closed or failed
     */
    public void append(ByteBuf body, long firstSeq, long lastSeq, long captureNanos, LongConsumer onDurable) {
        boolean handedOver = false;
        try {
            synchronized (this) {
                checkOpen();
                if (firstSeq != receivedSeq + 1 || lastSeq < firstSeq) {
                    throw new IllegalArgumentException("group " + group + ": DELTA of seqs " + firstSeq + ".." + lastSeq
                            + " does not continue the journal, which has received up to seq " + receivedSeq
                            + "; the next DELTA must start at seq " + (receivedSeq + 1));
                }
                if (body.readableBytes() > DeltaJournal.MAX_BODY_BYTES) {
                    throw new IllegalArgumentException("group " + group + ": DELTA body of " + body.readableBytes()
                            + " bytes exceeds the journal's record limit of " + DeltaJournal.MAX_BODY_BYTES + " bytes");
                }
                queuedBytes.addAndGet(body.readableBytes());
                queue.add(new Request(body, firstSeq, lastSeq, captureNanos, onDurable));
                handedOver = true;
                receivedSeq = lastSeq;
            }
            wake();
        } finally {
            if (!handedOver) {
                body.release();
            }
        }
    }

    /**
     * Calls {@code onDurable} on the journal thread, with the durable seq, once everything
     * appended before this call is durable (a session answering HELLO waits for this, so the
     * agent resumes right after what the receiver holds).
     *
     * @throws IllegalStateException if the writer is closed or failed
     */
    public void whenDurable(LongConsumer onDurable) {
        synchronized (this) {
            checkOpen();
            queue.add(new Request(null, 0, 0, 0, onDurable));
        }
        wake();
    }

    /**
     * Runs {@code barrier} on the journal thread after everything appended before this call is
     * durable and before anything appended after it is written: how a decision the stream's order
     * depends on (a resync begins after seq N) is persisted before any later seq can be
     * acknowledged. A barrier that throws fails the journal (nothing later is acknowledged).
     *
     * @throws IllegalStateException if the writer is closed or failed
     */
    public void barrier(Barrier barrier) {
        synchronized (this) {
            checkOpen();
            queue.add(new Request(null, 0, 0, 0, durable -> { }, barrier));
        }
        wake();
    }

    private void wake() {
        Worker w = worker;
        if (w != null) {
            w.wake();
        }
    }

    private void checkOpen() {
        String failed = failure;
        if (failed != null) {
            throw new IllegalStateException(failed);
        }
        if (closing) {
            throw new IllegalStateException("journal of group " + group + " is closed");
        }
    }

    /** Highest seq handed over (maybe not yet durable). */
    public synchronized long receivedSeq() {
        return receivedSeq;
    }

    /** Highest seq synced in the journal. */
    public long durableSeq() {
        return durableSeq;
    }

    public long lastDurableCaptureNanos() {
        return lastDurableCaptureNanos;
    }

    /** Body bytes handed over and not yet written to the journal: the session's back-pressure signal. */
    public long queuedBytes() {
        return queuedBytes.get();
    }

    /** Null while healthy; else why the journal stopped. */
    public String failure() {
        return failure;
    }

    /** The worker's unit of work: one batch of appends, one sync, then the durable callbacks. */
    private final class JournalAgent implements Agent {
        @Override
        public int doWork() {
            try {
                return writeBatch();
            } catch (RuntimeException | Error e) {
                fail("journal of group " + group + " failed after durable seq " + durableSeq + ": " + e, e);
                releaseQueued();
                throw new AgentTerminationException(e);
            }
        }

        /** After the loop stopped: whatever was handed over before {@link #close} is written and synced. */
        @Override
        public void onClose() {
            if (failure == null) {
                try {
                    while (writeBatch() > 0) {
                        // drain
                    }
                } catch (RuntimeException | Error e) {
                    fail("journal of group " + group + " failed after durable seq " + durableSeq + ": " + e, e);
                }
            }
            releaseQueued();
        }

        @Override
        public String roleName() {
            return "ferry-journal-" + group;
        }
    }

    /** Appends what is queued (up to maxBatchBytes), syncs once, reports durable; returns how many requests it took. */
    private int writeBatch() {
        Request r = queue.poll();
        if (r == null) {
            return 0;
        }
        long batchBytes = 0;
        long lastAppended = -1;
        long lastCapture = 0;
        while (r != null) {
            batch.add(r);
            if (r.barrier() != null) {
                if (lastAppended >= 0) {
                    synced(lastAppended, lastCapture);
                    lastAppended = -1;
                }
                try {
                    r.barrier().run();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            } else if (r.body() != null) {
                int bytes = r.body().readableBytes();
                try {
                    journal.append(r.firstSeq(), r.lastSeq(), r.captureNanos(), r.body());
                } finally {
                    r.body().release();
                    queuedBytes.addAndGet(-bytes);
                }
                lastAppended = r.lastSeq();
                lastCapture = r.captureNanos();
                batchBytes += bytes;
            }
            r = batchBytes < maxBatchBytes ? queue.poll() : null;
        }
        if (lastAppended >= 0) {
            synced(lastAppended, lastCapture);
        }
        long durable = durableSeq;
        int taken = batch.size();
        for (Request done : batch) {
            notifyDurable(done.onDurable(), durable);
        }
        batch.clear();
        return taken;
    }

    /** Syncs the records appended so far and publishes {@code lastAppended} as durable. */
    private void synced(long lastAppended, long lastCapture) {
        long syncStartNs = System.nanoTime();
        journal.sync();
        syncLatency.recordNanos(System.nanoTime() - syncStartNs);
        lastDurableCaptureNanos = lastCapture;
        durableSeq = lastAppended;
        onSynced.run();
    }

    private void notifyDurable(LongConsumer onDurable, long durable) {
        try {
            onDurable.accept(durable);
        } catch (RuntimeException e) {
            LOG.error("group {}: onDurable callback for durable seq {} failed", group, durable, e);
        }
    }

    private void fail(String message, Throwable cause) {
        synchronized (this) {
            failure = message;
        }
        LOG.error("{}; appends are refused until the receiver is restarted", message, cause);
    }

    private void releaseQueued() {
        Request r;
        while ((r = queue.poll()) != null) {
            if (r.body() != null) {
                queuedBytes.addAndGet(-r.body().readableBytes());
                r.body().release();
            }
        }
    }

    /**
     * Stops the journal worker after everything handed over before has been written, synced and
     * reported durable. Does not close the journal. Idempotent.
     */
    @Override
    public void close() {
        Worker w;
        synchronized (this) {
            closing = true;
            w = worker;
        }
        if (w != null) {
            w.close();
        }
        releaseQueued();
    }
}
