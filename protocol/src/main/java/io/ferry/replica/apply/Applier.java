package io.ferry.replica.apply;

import io.ferry.metrics.LatencyRecorder;
import io.ferry.delta.Delta;
import io.ferry.delta.DeltaDecoder;
import io.ferry.delta.DeltaFormat;
import io.ferry.replica.journal.DeltaJournal;
import io.ferry.replica.journal.DeltaJournalReader;
import io.ferry.replica.journal.DeltaRecord;
import io.ferry.volume.VolumeFile;
import io.ferry.worker.CommandQueue;
import io.ferry.worker.GroupFaults;
import io.ferry.worker.Worker;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;
import java.util.function.Supplier;

import org.agrona.concurrent.Agent;

/**
 * Applies a group's durable deltas to its replica images, strictly in seq order, on its own
 * {@link Worker} ({@code ferry-apply-<group>}), which owns the journal reader, the decoder, all
 * writes to the replicas and whatever else the group's apply side keeps (undo log, recovery
 * points, a drill's clones).
 *
 * <p>Other threads hand that thread work as commands ({@link #call}): a rollback for a promote
 * to a point, the setup of a drill, a bookmark to persist. A command runs between two batches,
 * when the replicas hold exactly {@link #appliedSeq()}; nobody else ever writes the replicas or
 * holds the applier still.
 *
 * <p>Per batch it reads records up to the journal's durable seq (never past it), decodes each
 * one (checksum verified), checks every extent against the replicas before it writes any, and
 * applies them: WRITE as a positional write, WRITE_ZEROES and TRIM with
 * {@link VolumeFile#zero}. A batch ends when nothing durable is left or it holds
 * {@link Options#maxBatchBytes()}; then the touched replicas are forced, the applied seq (always
 * a delta boundary) is persisted through {@link Progress} and published, and the journal is
 * released up to what the retention allows. Writes and zeroing are idempotent, so after a crash
 * anywhere in this the applier replays from the persisted seq + 1 and reaches the same state.
 *
 * <p>A decode, validation or I/O failure (any exception of a batch) stops applying for the group
 * for good: {@link #failure()} says why, a log line is written, and the seq stays at the last
 * batch that was persisted whole. Commands still run (they refuse what needs applying), and
 * other groups are untouched: each has its own applier. A delta whose check fails is never written; a delta cut short by an I/O
 * error is not counted as applied and is rewritten by the replay after a restart.
 */
public final class Applier implements AutoCloseable {
    /** Safety net only: a sync and a command always wake the applier. */
    private static final long IDLE_PARK_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Persists the applied seq; called on the applier thread after the replicas were forced. */
    @FunctionalInterface
    public interface Progress {
        void persistApplied(long appliedSeq, long appliedCaptureNanos) throws IOException;
    }

    /**
     * Sees each validated delta before any of it is written to the replicas (the undo log
     * records the old bytes, a drill preserves them); an exception stops applying before the
     * delta touches a replica.
     */
    @FunctionalInterface
    public interface BeforeWrite {
        BeforeWrite NONE = (delta, replicas) -> { };

        void beforeWrite(Delta delta, VolumeFile[] replicas) throws IOException;
    }

    /** Tuning of the applier. */
    public record Options(int maxDeltaBytes, long maxBatchBytes) {
        public static final int DEFAULT_MAX_DELTA_BYTES = 256 << 20;
        public static final long DEFAULT_MAX_BATCH_BYTES = 16L << 20;

        public Options {
            if (maxDeltaBytes <= 0 || maxBatchBytes <= 0) {
                throw new IllegalArgumentException("applier maxDeltaBytes and maxBatchBytes must be > 0, got "
                        + maxDeltaBytes + " and " + maxBatchBytes);
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_MAX_DELTA_BYTES, DEFAULT_MAX_BATCH_BYTES);
        }
    }

    private final String group;
    private final DeltaJournal journal;
    private final LongSupplier durableSeq;
    private final Supplier<VolumeFile[]> replicas;
    private final Progress progress;
    private final LongUnaryOperator releasableUpTo;
    private final Options options;
    private final BeforeWrite beforeWrite;
    private final Object appliedMonitor = new Object();
    private final CommandQueue commands = new CommandQueue(this::wake);
    /** Commands that do not need the replicas still: run between records too, so they wait no batch. */
    private final CommandQueue soon = new CommandQueue(this::wake);
    private final GroupFaults faults;
    private volatile Worker worker;

    private volatile long appliedSeq;
    private volatile long appliedCaptureNanos;
    private volatile LatencyRecorder batchTime = LatencyRecorder.NOOP;
    private volatile LongConsumer appliedCaptureAge = captureNanos -> { };
    private volatile boolean running = true;
    /** Set by {@link #stopApplying} (a promote) or {@link #close}: no batch runs any more. */
    private volatile boolean applying = true;

    // Owned by the applier thread.
    private final DeltaDecoder decoder;
    private final DeltaRecord record = new DeltaRecord();
    private DeltaJournalReader reader;
    private boolean[] touched = new boolean[0];

    /**
     * @param appliedSeq the persisted applied seq: apply resumes at {@code appliedSeq + 1}
     * @param durableSeq the journal's durable seq (read on the applier thread)
     * @param replicas the group's replicas by volume index (empty until the volumes are attached)
     * @param releasableUpTo maps the applied seq to the seq up to which the journal may be
     *        released (the hook for recovery-point retention); identity releases all applied
     * @param beforeWrite sees every delta before it is written (undo log, drill)
     */
    public Applier(DeltaJournal journal, long appliedSeq, long appliedCaptureNanos, LongSupplier durableSeq,
            Supplier<VolumeFile[]> replicas, Progress progress, LongUnaryOperator releasableUpTo,
            BeforeWrite beforeWrite, Options options) {
        this.beforeWrite = Objects.requireNonNull(beforeWrite, "beforeWrite");
        this.journal = Objects.requireNonNull(journal, "journal");
        this.group = journal.group();
        this.appliedSeq = appliedSeq;
        this.appliedCaptureNanos = appliedCaptureNanos;
        this.durableSeq = durableSeq;
        this.replicas = replicas;
        this.progress = progress;
        this.releasableUpTo = releasableUpTo;
        this.options = options;
        this.decoder = new DeltaDecoder(options.maxDeltaBytes());
        this.faults = new GroupFaults("applier", (failed, cause) -> {
            applying = false;
            synchronized (appliedMonitor) {
                appliedMonitor.notifyAll();
            }
        });
    }

    /**
     * Where the applier thread records each batch's time and, per batch, the capture time of its
     * newest write (set at assembly).
     */
    public void metrics(LatencyRecorder batchTime, LongConsumer appliedCaptureAge) {
        this.batchTime = batchTime;
        this.appliedCaptureAge = appliedCaptureAge;
    }

    /** Starts the applier's worker; at most once. */
    public void start() {
        if (worker != null) {
            throw new IllegalStateException("group " + group + ": the applier runs already");
        }
        worker = Worker.start(new ApplyAgent(), IDLE_PARK_NANOS);
    }

    /** Tells the applier that the durable seq moved or a command is queued. Any thread, cheap. */
    public void wake() {
        Worker w = worker;
        if (w != null) {
            w.wake();
        }
    }

    /**
     * Runs {@code command} on the applier thread between two batches (the replicas then hold
     * exactly {@link #appliedSeq()}) and completes the future with its result or its exception.
     * Any thread; from the applier thread itself (a command calling another) it runs at once.
     * Once the applier is closed, or before it was started, the future fails with
     * IllegalStateException.
     */
    public <T> CompletableFuture<T> call(Callable<T> command) {
        if (isApplierThread()) {
            try {
                return CompletableFuture.completedFuture(command.call());
            } catch (Exception e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        Worker w = worker;
        if (w == null || !running) {
            return CompletableFuture.failedFuture(stopped());
        }
        CompletableFuture<T> result = commands.call(() -> {
            if (!running) {
                throw stopped();
            }
            return command.call();
        });
        if (!running && !w.isRunning()) {
            commands.drain(); // raced with close: the owner is gone, the commands only fail
        }
        return result;
    }

    /**
     * As {@link #call}, for a command that touches only state the applier owns besides the
     * replicas (the recovery points): it runs at the next record boundary, even inside a batch,
     * so it does not wait for a batch of many megabytes to be written and synced.
     */
    public <T> CompletableFuture<T> callSoon(Callable<T> command) {
        if (isApplierThread()) {
            return call(command);
        }
        Worker w = worker;
        if (w == null || !running) {
            return CompletableFuture.failedFuture(stopped());
        }
        CompletableFuture<T> result = soon.call(() -> {
            if (!running) {
                throw stopped();
            }
            return command.call();
        });
        if (!running && !w.isRunning()) {
            soon.drain();
        }
        return result;
    }

    private IllegalStateException stopped() {
        return new IllegalStateException("group " + group + ": the applier is stopped (the group is closed or"
                + " promoted)");
    }

    /** Whether the caller is the applier thread. */
    public boolean isApplierThread() {
        Worker w = worker;
        return w != null && w.isWorkerThread();
    }

    /**
     * Applies no further batch (a promoted replica is the primary now); commands still run.
     * Applier thread (a command), or before {@link #start}.
     */
    public void stopApplying() {
        applying = false;
        synchronized (appliedMonitor) {
            appliedMonitor.notifyAll();
        }
    }

    /** Highest seq applied to the replicas and synced there (a delta boundary). */
    public long appliedSeq() {
        return appliedSeq;
    }

    /** Capture time of the last write of the last applied delta. */
    public long appliedCaptureNanos() {
        return appliedCaptureNanos;
    }

    /** Null while applying; else why applying stopped (it failed). */
    public String failure() {
        return faults.failure(group);
    }

    /**
     * Waits until {@link #appliedSeq()} is at least {@code seq}. Returns false on timeout, or at
     * once if applying has stopped (failed or closed) short of it.
     */
    public boolean awaitApplied(long seq, Duration timeout) throws InterruptedException {
        long deadlineNs = System.nanoTime() + timeout.toNanos();
        synchronized (appliedMonitor) {
            while (appliedSeq < seq) {
                if (!applying || !running) {
                    return false;
                }
                long leftNs = deadlineNs - System.nanoTime();
                if (leftNs <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(appliedMonitor, leftNs);
            }
            return true;
        }
    }

    /** The applier's loop: commands first, then one batch. */
    private final class ApplyAgent implements Agent {
        @Override
        public int doWork() {
            int work = soon.drain() + commands.drain();
            if (applying && running) {
                work += faults.run(group, () -> applyOrFail() ? 1 : 0);
            }
            return work;
        }

        @Override
        public void onClose() {
            if (reader != null) {
                reader.close();
                reader = null;
            }
            soon.drain(); // running is false: every command left fails
            commands.drain();
            synchronized (appliedMonitor) {
                appliedMonitor.notifyAll();
            }
        }

        @Override
        public String roleName() {
            return "ferry-apply-" + group;
        }
    }

    private boolean applyOrFail() {
        try {
            return applyBatch();
        } catch (ApplyException e) {
            throw e;
        } catch (RuntimeException | Error e) {
            throw new ApplyException("group " + group + ": apply after seq " + appliedSeq + " failed: " + e, e);
        }
    }

    /** Applies one batch; returns false when there was nothing durable to apply. */
    private boolean applyBatch() {
        long durable = durableSeq.getAsLong();
        long applied = appliedSeq;
        if (durable <= applied) {
            return false;
        }
        long startNs = System.nanoTime();
        if (reader == null) {
            reader = journal.reader(applied + 1);
        }
        VolumeFile[] volumes = replicas.get();
        if (touched.length < volumes.length) {
            touched = new boolean[volumes.length];
        }
        long batchBytes = 0;
        long batchLast = applied;
        long batchCapture = appliedCaptureNanos;
        RuntimeException stop = null;
        try {
            while (batchBytes < options.maxBatchBytes() && reader.next(record, durable)) {
                applyRecord(volumes, batchLast);
                batchLast = record.lastSeq();
                batchCapture = record.captureNanos();
                batchBytes += record.body().readableBytes();
                if (!soon.isEmpty()) {
                    soon.drain();
                }
            }
        } catch (RuntimeException e) {
            stop = e; // the deltas before this one were applied whole: commit them first
        }
        if (batchLast != applied) {
            commit(volumes, applied, batchLast, batchCapture);
            batchTime.recordNanos(System.nanoTime() - startNs);
            appliedCaptureAge.accept(batchCapture);
        }
        if (stop != null) {
            throw stop;
        }
        return batchLast != applied;
    }

    /** Forces the touched replicas, persists and publishes {@code batchLast}, releases the journal. */
    private void commit(VolumeFile[] volumes, long applied, long batchLast, long batchCapture) {
        try {
            for (int i = 0; i < volumes.length; i++) {
                if (touched[i]) {
                    volumes[i].force();
                }
            }
            progress.persistApplied(batchLast, batchCapture);
        } catch (IOException e) {
            throw new ApplyException("group " + group + ": cannot sync seqs " + (applied + 1) + ".." + batchLast
                    + " to the replicas or persist the applied seq: " + e, e);
        } finally {
            Arrays.fill(touched, false);
        }
        synchronized (appliedMonitor) {
            appliedCaptureNanos = batchCapture;
            appliedSeq = batchLast;
            appliedMonitor.notifyAll();
        }
        journal.release(releasableUpTo.applyAsLong(batchLast));
    }

    private void applyRecord(VolumeFile[] volumes, long previousSeq) {
        long first = record.firstSeq();
        long last = record.lastSeq();
        if (first != previousSeq + 1) {
            throw new ApplyException("group " + group + ": journal record of seqs " + first + ".." + last
                    + " does not follow applied seq " + previousSeq, null);
        }
        Delta delta;
        try {
            delta = decoder.decode(record.body());
        } catch (RuntimeException e) {
            throw new ApplyException("group " + group + ": journal record of seqs " + first + ".." + last
                    + " does not decode: " + e.getMessage(), e);
        }
        if (delta.firstSeq() != first || delta.lastSeq() != last || !group.equals(delta.group())) {
            throw new ApplyException("group " + group + ": journal record of seqs " + first + ".." + last
                    + " holds " + delta + "; the journal is damaged", null);
        }
        int extents = delta.extentCount();
        for (int i = 0; i < extents; i++) {
            int volume = delta.volumeIndex(i);
            long end = delta.offset(i) + delta.length(i);
            if (volume >= volumes.length || end > volumes[volume].sizeBytes()) {
                throw new ApplyException("group " + group + ": delta of seqs " + first + ".." + last + " extent " + i
                        + " (volume index " + volume + ", offset " + delta.offset(i) + ", length " + delta.length(i)
                        + ") lies outside the group's " + volumes.length + " attached replica(s); nothing of it was"
                        + " applied", null);
            }
        }
        try {
            beforeWrite.beforeWrite(delta, volumes);
        } catch (IOException e) {
            throw new ApplyException("group " + group + ": cannot record the old contents of delta " + first + ".."
                    + last + " before writing it: " + e + "; nothing of it was applied", e);
        }
        ByteBuffer data = extents == 0 ? null : delta.data();
        int i = 0;
        try {
            for (; i < extents; i++) {
                int volume = delta.volumeIndex(i);
                touched[volume] = true;
                if (delta.type(i) == DeltaFormat.WRITE) {
                    int start = delta.dataOffset(i);
                    data.limit(start + (int) delta.length(i)).position(start);
                    volumes[volume].write(delta.offset(i), data);
                } else {
                    volumes[volume].zero(delta.offset(i), delta.length(i));
                }
            }
        } catch (IOException e) {
            throw new ApplyException("group " + group + ": writing extent " + i + " of delta " + first + ".." + last
                    + " to " + volumes[delta.volumeIndex(i)].path() + " failed: " + e
                    + "; the delta is not counted as applied and is replayed after a restart", e);
        }
    }

    /**
     * Stops the applier thread after the batch in progress has been persisted; commands still
     * queued fail. Does not close the journal or the replicas. Idempotent; not from the applier
     * thread.
     */
    @Override
    public void close() {
        running = false;
        applying = false;
        Worker w = worker;
        if (w != null) {
            w.close();
            soon.drain(); // a command that raced with the close fails too
            commands.drain();
        }
        synchronized (appliedMonitor) {
            appliedMonitor.notifyAll();
        }
    }

    /** A failure that stops applying; its message is what {@link #failure()} reports. */
    private static final class ApplyException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ApplyException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
