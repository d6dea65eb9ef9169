package io.ferry.replica.store;

import io.ferry.daemon.StateFiles;
import io.ferry.metrics.LatencyRecorder;
import java.util.function.LongConsumer;
import io.ferry.config.Names;
import io.ferry.delta.Delta;
import io.ferry.replica.apply.Applier;
import io.ferry.replica.drill.DrillControl;
import io.ferry.replica.drill.DrillVolume;
import io.ferry.replica.journal.DeltaJournal;
import io.ferry.replica.journal.JournalWriter;
import io.ferry.replica.store.GroupTarget;
import io.ferry.replica.status.GroupView;
import io.ferry.replica.undo.UndoLog;
import io.ferry.time.EpochNanoClock;
import io.ferry.volume.BlockHasher;
import io.ferry.volume.VolumeFile;
import io.ferry.wire.BlockDiff;
import io.ferry.wire.BlockHashes;
import io.ferry.wire.GroupAck;
import io.ferry.wire.SyncMark;
import io.ferry.wire.VolumeInfo;
import io.ferry.wire.WireCodec;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consistency group at the DR site, the apply side of the group: the parts below, wired
 * together, and the checks of what a session hands in. The session hands it DELTA bodies
 * ({@link #append}) and acknowledges what {@code onDurable} reports; the applier brings the
 * replicas up to the durable seq in the background.
 *
 * <h2>Parts</h2>
 * <ul>
 *   <li>{@link GroupStateStore}: {@code state.json} as a published immutable {@link GroupState};</li>
 *   <li>the journal ({@link DeltaJournal}) and its {@link JournalWriter} thread;</li>
 *   <li>{@link ReplicaSet}: the replica images;</li>
 *   <li>{@link Applier}: the thread that owns the replicas, the undo log, the points and the drill;</li>
 *   <li>{@link UndoRetention} and {@link RecoveryPoints}: the point-in-time window;</li>
 *   <li>{@link Promotion}: promote to latest or to a point, and its recovery on open;</li>
 *   <li>{@link DrillControl}: the drill's clones.</li>
 * </ul>
 *
 * <h2>Files</h2>
 * {@code <dataDir>/groups/<group>/state.json}, {@code points.json}, {@code journal/},
 * {@code undo/} and {@code <dataDir>/replicas/<group>/<volume>.img} (raw, sparse).
 *
 * <h2>Threads</h2>
 * {@code ferry-journal-<group>} writes and syncs the journal in groups and calls
 * {@code onDurable}; {@code ferry-apply-<group>} applies durable records and runs every command
 * that needs the replicas still (a promote's rollback, a drill's setup, a bookmark's persist).
 * {@link #append}, {@link #whenDurable}, {@link #bookmark} and the getters may be called from any
 * thread (an event loop included) and never block on disk or on a lock held across a disk call.
 * {@link #attachVolumes} creates and syncs files (once per group, on the first HELLO): off the
 * event loop. Promote and drill calls wait for their command: API threads. {@link #close} joins
 * both threads.
 *
 * <h2>After a crash</h2>
 * Open recovers the journal (a torn record never surfaces), syncs it and takes all of it as
 * durable, finishes an interrupted promote, then the applier replays from the persisted applied
 * seq + 1. Applying is idempotent, so the replicas reach the journal's state whether the crash
 * came before, during or after a batch's writes.
 */
public final class GroupReplica implements GroupTarget, GroupView, AutoCloseable {

    /** Tuning of a group; {@link #defaults()} for the daemon. */
    public record Options(DeltaJournal.Options journal, long journalBatchBytes, Applier.Options apply,
            JournalRetention retention, UndoLog.Options undo, long undoMaxBytes, StateFiles stateFiles) {
        public static final long DEFAULT_JOURNAL_BATCH_BYTES = 16L << 20;
        public static final long DEFAULT_UNDO_MAX_BYTES = 64L << 30;

        public Options {
            Objects.requireNonNull(journal, "journal");
            Objects.requireNonNull(apply, "apply");
            Objects.requireNonNull(retention, "retention");
            Objects.requireNonNull(undo, "undo");
            Objects.requireNonNull(stateFiles, "stateFiles");
            if (journalBatchBytes <= 0) {
                throw new IllegalArgumentException("journalBatchBytes must be > 0, got " + journalBatchBytes);
            }
            if (undoMaxBytes <= 0) {
                throw new IllegalArgumentException("undoMaxBytes must be > 0, got " + undoMaxBytes);
            }
        }

        /** State files written durably ({@link StateFiles#DURABLE}). */
        public Options(DeltaJournal.Options journal, long journalBatchBytes, Applier.Options apply,
                JournalRetention retention, UndoLog.Options undo, long undoMaxBytes) {
            this(journal, journalBatchBytes, apply, retention, undo, undoMaxBytes, StateFiles.DURABLE);
        }

        /** Default undo log settings. */
        public Options(DeltaJournal.Options journal, long journalBatchBytes, Applier.Options apply,
                JournalRetention retention) {
            this(journal, journalBatchBytes, apply, retention, UndoLog.Options.defaults(), DEFAULT_UNDO_MAX_BYTES);
        }

        public static Options defaults() {
            return new Options(DeltaJournal.Options.defaults(), DEFAULT_JOURNAL_BATCH_BYTES, Applier.Options.defaults(),
                    JournalRetention.RELEASE_APPLIED);
        }

        /** These options with the undo log bounded to {@code maxBytes}. */
        public Options withUndoMaxBytes(long maxBytes) {
            return new Options(journal, journalBatchBytes, apply, retention, undo, maxBytes, stateFiles);
        }

        /** These options with the state files written through {@code files} (tests inject faults). */
        public Options withStateFiles(StateFiles files) {
            return new Options(journal, journalBatchBytes, apply, retention, undo, undoMaxBytes, files);
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(GroupReplica.class);
    private static final Duration REPLAY_WAIT = Duration.ofMinutes(5);
    /** {@link #startDrill}'s seq for "whatever is applied when the drill is set up". */
    public static final long LATEST = -1;

    private final String group;
    private final GroupStateStore state;
    private final DeltaJournal journal;
    private final JournalWriter writer;
    private final ReplicaSet replicas;
    private final Applier applier;
    private final RecoveryPoints points;
    private final UndoRetention undo;
    private final Promotion promotion;
    private final DrillControl drill;
    /** The journal's last seq at open: applied once the replay after a restart is done. */
    private final long replayToSeq;
    /** Serialises promote and drill changes (API threads); never taken by an event loop. */
    private final Object controlLock = new Object();
    private volatile boolean closed;
    /** SYNC marks waiting for the applier to reach their seq; applier thread. */
    private final java.util.ArrayDeque<SyncMark> pendingMarks = new java.util.ArrayDeque<>();
    /** The sync progress last reported (not persisted between BEGIN and END). */
    private volatile GroupState.Sync lastProgress;
    private final EpochNanoClock clock;
    /**
     * Hashes to compare, in seq order and, at one seq, in the order they came: the applier stops
     * at the oldest. The event loop adds, the applier takes each out atomically (none is lost to a
     * race between the two, and answers keep the agent's order).
     */
    private final ConcurrentSkipListSet<PendingCompare> compares = new ConcurrentSkipListSet<>();
    private final AtomicLong compareOrder = new AtomicLong();
    private record PendingCompare(long seq, long order, BlockHashes hashes, Consumer<BlockDiff> reply)
            implements Comparable<PendingCompare> {
        @Override
        public int compareTo(PendingCompare other) {
            int bySeq = Long.compare(seq, other.seq);
            return bySeq != 0 ? bySeq : Long.compare(order, other.order);
        }
    }
    /** Applier thread. */
    private java.nio.ByteBuffer compareBuffer;
    private final BlockHasher hasher = new BlockHasher();

    private GroupReplica(String group, GroupStateStore state, DeltaJournal journal, ReplicaSet replicas,
            Options options, RecoveryPoints points, UndoRetention undo, EpochNanoClock clock) {
        this.group = group;
        this.clock = clock;
        this.state = state;
        this.journal = journal;
        this.replicas = replicas;
        this.points = points;
        this.undo = undo;
        this.drill = new DrillControl(group);
        GroupState now = state.current();
        this.replayToSeq = now.isPromoted() ? 0 : journal.lastSeq();
        this.applier = new Applier(journal, now.appliedSeq(), now.appliedCaptureNanos(), this::applyLimit,
                replicas::files, (appliedSeq, appliedCaptureNanos) -> {
                    GroupState persisted = state.update(s -> s.withApplied(appliedSeq, appliedCaptureNanos));
                    applyDueMarks(appliedSeq);
                    runDueCompares(appliedSeq);
                    if (persisted.consistent() || state.current().consistent()) {
                        points.onApplied(appliedSeq); // a replica half synced is no point to return to
                    }
                    undo.afterApplied();
                },
                applied -> Math.min(applied, options.retention().releasableUpTo(applied)), this::beforeWrite,
                options.apply());
        this.writer = new JournalWriter(journal, options.journalBatchBytes(), applier::wake);
        this.promotion = new Promotion(group, state, replicas, undo, applier);
    }

    /** Where the journal writer and the applier record their sync, batch and lag times (set at assembly). */
    public void metrics(LatencyRecorder journalSync, LatencyRecorder applyBatch, LongConsumer appliedCaptureAge) {
        writer.syncLatency(journalSync);
        applier.metrics(applyBatch, appliedCaptureAge);
    }

    /** Opens (creating on first use) the group with default options. */
    public static GroupReplica open(Path dataDir, String group, EpochNanoClock clock) throws IOException {
        return open(dataDir, group, clock, Options.defaults());
    }

    /**
     * Opens (creating on first use) the group's state, journal and replicas and starts its
     * journal and applier threads; the applier replays whatever is durable but not applied.
     *
     * @throws IOException if the state is unreadable, a replica of the attached volumes is
     *         missing or has another size, or the journal ends before the applied seq
     * @throws io.ferry.replica.journal.JournalException if the journal is damaged or open elsewhere
     * @throws IllegalArgumentException for an invalid group name
     */
    public static GroupReplica open(Path dataDir, String group, EpochNanoClock clock, Options options)
            throws IOException {
        return open(dataDir, group, clock, options, RecoveryPoints.Policy.DEFAULT);
    }

    /** As {@link #open(Path, String, EpochNanoClock, Options)}, taking recovery points by {@code points}. */
    public static GroupReplica open(Path dataDir, String group, EpochNanoClock clock, Options options,
            RecoveryPoints.Policy points) throws IOException {
        Names.check("group", group);
        Path groupDir = dataDir.resolve("groups").resolve(group);
        GroupStateStore state = GroupStateStore.loadOrCreate(groupDir, group, clock.epochNanos(),
                options.stateFiles());
        DeltaJournal journal = DeltaJournal.open(groupDir.resolve("journal"), group, options.journal());
        ReplicaSet replicas = null;
        UndoLog undoLog = null;
        try {
            GroupState opened = state.current();
            boolean promoted = opened.isPromoted(); // replicas at the promoted seq, journal beyond it
            if (!promoted && journal.lastSeq() < opened.appliedSeq()) {
                throw new IOException("group " + group + ": the journal in " + journal.directory() + " ends at seq "
                        + journal.lastSeq() + " but the replicas are applied up to seq " + opened.appliedSeq()
                        + "; the journal was lost or replaced. Move the group's directories aside and let the group"
                        + " resync.");
            }
            if (!promoted && journal.firstSeq() > opened.appliedSeq() + 1) {
                throw new IOException("group " + group + ": the journal in " + journal.directory() + " starts at seq "
                        + journal.firstSeq() + " but the replicas are applied only up to seq " + opened.appliedSeq()
                        + "; the seqs between were lost. Move the group's directories aside and let the group resync.");
            }
            boolean replicaLost = !promoted && ReplicaSet.recreateMissing(dataDir, group, opened.volumes());
            if (replicaLost) {
                // A new empty image beside replicas that kept up: a checksum sync finds what it lacks
                // (not a sync of data alone: the agent's journal no longer holds what was applied).
                long source = opened.sourceGenerationId() == GroupState.SOURCE_ADOPT ? 0 : opened.sourceGenerationId();
                state.update(s -> s.withSyncNeeded(source, true, clock.epochNanos()));
                opened = state.current();
            }
            replicas = ReplicaSet.open(dataDir, group, state, options.stateFiles());
            RecoveryPoints recoveryPoints = RecoveryPoints.open(groupDir, group, points, clock, opened.appliedSeq(),
                    options.stateFiles());
            if (replicaLost) {
                int lost = recoveryPoints.pruneBefore(Long.MAX_VALUE);
                LOG.warn("group {}: {} recovery point(s) are dropped: the undo log cannot rebuild them on a replica"
                        + " made anew; the group is not consistent until the agent synced it", group, lost);
            }
            undoLog = UndoLog.open(groupDir.resolve("undo"), group, opened.appliedSeq(), options.undo());
            int dropped = recoveryPoints.pruneBefore(undoLog.baseSeq());
            if (dropped > 0) {
                LOG.warn("group {}: {} recovery point(s) before seq {} are dropped: the undo log no longer reaches"
                        + " them", group, dropped, undoLog.baseSeq());
            }
            UndoRetention undo = new UndoRetention(group, undoLog, recoveryPoints, options.undoMaxBytes(), () -> {
                GroupState now = state.current();
                return now.resyncing() ? now.lastConsistentSeq() : Long.MAX_VALUE;
            });
            if (opened.isPromoting()) {
                Promotion.finishInterrupted(group, state, replicas, undo, clock.epochNanos());
            }
            GroupReplica replica = new GroupReplica(group, state, journal, replicas, options, recoveryPoints, undo, clock);
            replica.writer.start();
            if (replica.isPromoted()) {
                replica.applier.stopApplying(); // a promoted replica is the primary now: nothing is applied to it
            }
            replica.applier.start(); // runs commands even when promoted
            return replica;
        } catch (IOException | RuntimeException e) {
            if (replicas != null) {
                try {
                    replicas.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (undoLog != null) {
                try {
                    undoLog.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            try {
                journal.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    public String group() {
        return group;
    }

    /** The group's replica images. */
    public ReplicaSet replicaSet() {
        return replicas;
    }

    /** The group's point-in-time window (undo log and its bound). */
    public UndoRetention undo() {
        return undo;
    }

    /** The group's drill. */
    public DrillControl drill() {
        return drill;
    }

    /** The state last persisted (lock-free). */
    public GroupState state() {
        return state.current();
    }

    /**
     * Attaches the volumes the agent announced in HELLO (see {@link ReplicaSet}). Does file I/O
     * on the first call: call it off the event loop.
     *
     * @throws IllegalStateException naming the difference when the list does not match the
     *         attached one (the session answers with an ERROR frame), or when closed
     * @throws IllegalArgumentException for an empty list or a duplicate volume name
     * @throws IOException if an image cannot be created (an existing file of another size included)
     */
    @Override
    public void attachVolumes(List<VolumeInfo> volumes) throws IOException {
        if (closed) {
            throw new IllegalStateException("group " + group + " is closed");
        }
        replicas.attach(volumes);
    }

    /** The attached volumes in HELLO order; empty before the first {@link #attachVolumes}. */
    @Override
    public List<VolumeInfo> volumes() {
        return replicas.volumes();
    }

    /** {@code <dataDir>/replicas/<group>/<volume>.img} (whether or not it exists yet). */
    @Override
    public Path replicaPath(String volume) {
        return replicas.replicaPath(volume);
    }

    /** Random, non-zero, created with the group and persisted; replaced by a promote. */
    @Override
    public long generationId() {
        return state.current().generationId();
    }

    @Override
    public io.ferry.generation.GenerationHistory history() {
        GroupState now = state.current();
        long source = now.sourceGenerationId();
        io.ferry.generation.GenerationHistory followed = io.ferry.generation.GenerationHistory.of(
                source == 0 || source == GroupState.SOURCE_ADOPT ? now.generationId() : source);
        return now.isPromoted() ? followed.begin(now.generationId(), now.appliedSeq()) : followed;
    }

    /** Whether the group was promoted (persisted): it takes no more deltas. Lock-free. */
    public boolean isPromoted() {
        return state.current().isPromoted();
    }

    /** When the group was promoted (epoch nanos), 0 while it replicates. Lock-free. */
    public long promotedEpochNanos() {
        return state.current().promotedEpochNanos();
    }

    /**
     * Promotes the group at its latest applied seq: syncs every replica, then persists the group
     * as promoted with a new random generation id in one atomic write of state.json. The caller
     * has stopped the appends and waited until everything durable is applied.
     *
     * @return the new generation id
     * @throws IllegalStateException if already promoted, failed, closed, a drill runs, or not everything durable is applied
     * @throws IOException if a replica or the state cannot be synced
     */
    public long markPromoted(long nowEpochNanos) throws IOException {
        synchronized (controlLock) {
            checkPromotable();
            return promotion.promoteTo(-1, nowEpochNanos, applied -> {
                long durable = durableSeq();
                long received = receivedSeq();
                if (applied != durable || received != durable) {
                    throw new IllegalStateException("group " + group + " is not quiescent: received seq " + received
                            + ", durable seq " + durable + ", applied seq " + applied);
                }
            });
        }
    }

    /**
     * Promotes the group at {@code seq}, at most the applied seq (see {@link Promotion}): rolls
     * the replicas back through the undo log when {@code seq} is earlier, syncs them, and
     * persists the promoted state with a new generation id; a crash during it ends, on restart,
     * with the group promoted (never half). The caller has fenced the group. Runs on the applier
     * between batches; durable deltas not yet applied stay unapplied.
     *
     * @return the new generation id
     * @throws IllegalArgumentException if {@code seq} is after the applied seq or before {@link #oldestRecoverableSeq()}
     * @throws IllegalStateException if already promoted, failed, closed, or a drill runs
     */
    public long promoteTo(long seq, long nowEpochNanos) throws IOException {
        synchronized (controlLock) {
            checkPromotable();
            return promotion.promoteTo(seq, nowEpochNanos, null);
        }
    }

    private void checkPromotable() {
        if (closed) {
            throw new IllegalStateException("group " + group + " is closed");
        }
        if (drill.drilling()) {
            throw new IllegalStateException("group " + group + " has a drill running; stop it first");
        }
        if (isPromoted()) {
            throw new IllegalStateException("group " + group + " is already promoted");
        }
        String failure = failure();
        if (failure != null) {
            throw new IllegalStateException("group " + group + " has failed: " + failure);
        }
    }

    /** Applier thread: the old bytes go to the undo log (synced), then to a running drill. */
    private void beforeWrite(Delta delta, VolumeFile[] volumes) throws IOException {
        undo.capture(delta, volumes);
        drill.beforeWrite(delta);
    }

    /** Writes pre-images back to the replicas. */
    static UndoLog.Target rollbackTarget(VolumeFile[] files) {
        return ReplicaSet.rollbackTarget(files);
    }

    /** Work run on the applier between batches. */
    @FunctionalInterface
    public interface BetweenBatches {
        void run() throws IOException;
    }

    /**
     * Runs {@code action} on the applier thread between two batches and waits for it: the
     * replicas hold exactly {@link #appliedSeq()} throughout (the way to read them at a point).
     */
    public void betweenBatches(BetweenBatches action) throws IOException {
        Commands.await(applier.call(() -> {
            action.run();
            return null;
        }));
    }

    /**
     * Writes to {@code target} the old contents of everything the replicas changed after
     * {@code seq}, newest first: a target that held the replicas' applied state ends at the state
     * of {@code seq}. Runs on the applier between batches.
     *
     * @throws IllegalArgumentException if {@code seq} is before {@link #oldestRecoverableSeq()} or after the applied seq
     */
    public void rollback(long seq, UndoLog.Target target) throws IOException {
        betweenBatches(() -> undo.rollback(seq, applier.appliedSeq(), target));
    }

    /**
     * Starts a drill (see {@link DrillControl}): a writable copy-on-write clone of every volume
     * as it was at {@code seq} (at most the applied seq, at least {@link #oldestRecoverableSeq()}),
     * scratch files in {@code scratchDir}, set up on the applier between batches; {@link #LATEST}
     * for the seq applied then ({@link #drillSeq()} tells which).
     *
     * @return the clones, by volume index
     * @throws IllegalStateException if a drill runs already, or the group is promoted, failed, closed or has no volumes
     * @throws IllegalArgumentException if {@code seq} is outside the recoverable range
     */
    public List<DrillVolume> startDrill(long seq, Path scratchDir) throws IOException {
        synchronized (controlLock) {
            if (closed || isPromoted() || failure() != null || drill.drilling() || volumes().isEmpty()) {
                throw new IllegalStateException("group " + group + " cannot start a drill: " + (closed ? "closed"
                        : isPromoted() ? "promoted" : failure() != null ? "failed: " + failure()
                        : drill.drilling() ? "a drill is running already (at seq " + drill.drillSeq() + ")"
                        : "no volumes attached yet"));
            }
            // After a crash the replicas may hold part of a delta until the replay passed it: a
            // clone of "latest" is taken only once what the journal held at open is applied.
            try {
                if (!applier.awaitApplied(replayToSeq, REPLAY_WAIT)) {
                    throw new IllegalStateException("group " + group + " is still replaying its journal after a"
                            + " restart (applied " + appliedSeq() + " of " + replayToSeq + "); try again shortly");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the replay of group " + group, e);
            }
            return Commands.await(applier.call(() -> {
                long applied = applier.appliedSeq();
                long at = seq == LATEST ? applied : seq;
                undo.checkRecoverable(at, applied);
                return drill.start(at, replicas.files(), volumes(), scratchDir, applied,
                        (to, target) -> undo.rollback(to, applied, target));
            }));
        }
    }

    /**
     * Stops the running drill: the applier stops preserving, the clones are closed and their
     * scratch files deleted (between two batches). The replicas were never written through the clones.
     *
     * @return false when no drill was running
     */
    public boolean stopDrill() throws IOException {
        synchronized (controlLock) {
            if (!drill.drilling()) {
                return false;
            }
            try {
                return Commands.await(applier.call(drill::stop));
            } catch (IllegalStateException e) {
                return drill.stop(); // the applier is stopped: nobody else touches the clones
            }
        }
    }

    /** Whether a drill runs. */
    @Override
    public boolean drilling() {
        return drill.drilling();
    }

    /** The seq the running drill's clones show (meaningful while {@link #drilling()}). */
    @Override
    public long drillSeq() {
        return drill.drillSeq();
    }

    /** Scratch bytes the running drill holds (0 without a drill). */
    public long drillScratchBytes() {
        return drill.scratchBytes();
    }

    /** The oldest seq the replicas can be rolled back to (promote or drill at a point). */
    @Override
    public long oldestRecoverableSeq() {
        return undo.oldestRecoverableSeq();
    }

    /** Bytes the undo log holds on disk. */
    @Override
    public long undoBytes() {
        return undo.bytesOnDisk();
    }

    /** The bound on {@link #undoBytes()} (undo.maxBytes). */
    public long undoMaxBytes() {
        return undo.maxBytes();
    }

    /** Highest seq handed to the journal (maybe not yet durable). */
    @Override
    public long receivedSeq() {
        return writer.receivedSeq();
    }

    /** Highest seq synced in the journal: the only seq ever acknowledged. */
    @Override
    public long durableSeq() {
        return writer.durableSeq();
    }

    /**
     * Highest seq applied to the replicas and synced there; always a delta boundary. Once promoted,
     * the seq the replicas were promoted at (earlier than the durable seq after a rollback). Lock-free.
     */
    @Override
    public long appliedSeq() {
        GroupState now = state.current();
        return now.isPromoted() ? now.appliedSeq() : applier.appliedSeq();
    }

    /** Capture time of the last write of the last durable delta (0 for an empty group). */
    @Override
    public long lastDurableCaptureNanos() {
        return writer.lastDurableCaptureNanos();
    }

    /** Capture time of the last write of the last applied delta (0 before the first). */
    public long lastAppliedCaptureNanos() {
        return applier.appliedCaptureNanos();
    }

    /** DELTA body bytes handed over but not yet written to the journal: pause reading above a bound. */
    @Override
    public long queuedAppendBytes() {
        return writer.queuedBytes();
    }

    /** Bytes the journal holds on disk (records not yet released). */
    public long journalBytes() {
        return journal.bytesOnDisk();
    }

    /**
     * Appends one DELTA frame body that the session has validated (checksum, extents within the
     * volumes). Takes ownership of one reference to {@code body} in every case, exceptions
     * included. Never blocks on disk: the journal thread syncs in groups and then calls
     * {@code onDurable.accept(durableSeq)} on that thread, once per append, in append order,
     * with the durable seq after the sync that covered it ({@code >= lastSeq}; appends synced
     * together get the same value). The callback must not block; it is still called if the
     * session that appended has gone meanwhile. If the journal fails, no further callback comes
     * and {@link #failure()} says why.
     *
     * @throws IllegalArgumentException if {@code firstSeq != receivedSeq() + 1}, {@code lastSeq < firstSeq},
     *         or the body's own group or seqs differ from the arguments
     * @throws IllegalStateException before {@link #attachVolumes}, after {@link #close}, or once the journal failed
     */
    @Override
    public void append(ByteBuf deltaBody, long firstSeq, long lastSeq, long lastCaptureNanos, LongConsumer onDurable) {
        Objects.requireNonNull(onDurable, "onDurable");
        try {
            if (closed) {
                throw new IllegalStateException("group " + group + " is closed");
            }
            if (isPromoted()) {
                throw new IllegalStateException("group " + group + " was promoted at the DR site; it takes no deltas");
            }
            if (replicas.files().length == 0) {
                throw new IllegalStateException("group " + group + ": DELTA before the volumes were attached (HELLO)");
            }
            checkBodyHeader(deltaBody, firstSeq, lastSeq);
        } catch (RuntimeException e) {
            deltaBody.release();
            throw e;
        }
        writer.append(deltaBody, firstSeq, lastSeq, lastCaptureNanos, onDurable);
    }

    private void checkBodyHeader(ByteBuf body, long firstSeq, long lastSeq) {
        int start = body.readerIndex();
        int nameLength = body.readableBytes() > 0 ? body.getUnsignedByte(start) : -1;
        if (nameLength < 1 || nameLength > WireCodec.MAX_NAME_BYTES || body.readableBytes() < 1 + nameLength + 16) {
            throw new IllegalArgumentException("group " + group + ": DELTA body of " + body.readableBytes()
                    + " bytes is too short for its header");
        }
        boolean sameGroup = nameLength == group.length();
        for (int i = 0; sameGroup && i < nameLength; i++) {
            sameGroup = body.getByte(start + 1 + i) == group.charAt(i);
        }
        if (!sameGroup) {
            throw new IllegalArgumentException("group " + group + ": DELTA body is for another group");
        }
        long bodyFirst = body.getLong(start + 1 + nameLength);
        long bodyLast = body.getLong(start + 1 + nameLength + 8);
        if (bodyFirst != firstSeq || bodyLast != lastSeq) {
            throw new IllegalArgumentException("group " + group + ": DELTA body holds seqs " + bodyFirst + ".."
                    + bodyLast + " but was appended as " + firstSeq + ".." + lastSeq);
        }
    }

    /**
     * Calls {@code onDurable} on the journal thread with the durable seq once everything appended
     * before this call is durable: answer HELLO with that seq, so a reconnecting agent resumes
     * right after what this receiver holds (appends of a previous session may still be in flight).
     *
     * @throws IllegalStateException after {@link #close} or once the journal failed
     */
    @Override
    public void whenDurable(LongConsumer onDurable) {
        Objects.requireNonNull(onDurable, "onDurable");
        writer.whenDurable(onDurable);
    }

    /**
     * The agent marked {@code seq} with an operator's {@code label} (a BOOKMARK frame, on the
     * session's event loop): handed to the applier as {@link #persistBookmark}; returns at once.
     */
    @Override
    public void bookmark(long seq, String label) {
        persistBookmark(seq, label).whenComplete((done, e) -> {
            if (e != null) {
                LOG.warn("group {}: bookmark \"{}\" at seq {} was not kept ({}); the agent sends it again on its"
                        + " next session", group, label, seq, e.toString());
            }
        });
    }

    /**
     * Hands a bookmark to the applier, which owns the points and persists them (never the calling
     * thread: an event loop must not wait on the file's syncs) at its next record boundary. The
     * future completes once the bookmark is persisted; it fails when the group is closed first.
     */
    public CompletableFuture<Void> persistBookmark(long seq, String label) {
        Objects.requireNonNull(label, "label");
        return applier.callSoon(() -> {
            points.bookmark(seq, label);
            return null;
        });
    }

    /**
     * Decides whether the agent of {@code agentGeneration} may ship or must sync first (see
     * {@link GroupTarget#admit}). A group that never followed an agent asks for a sync: of data
     * only when every replica is empty (holes and zeroes are holes there already), of every
     * region when a replica holds data (one placed there by the operator). A group that follows
     * this generation asks again until its sync ended. Another generation is refused: the
     * replicas are an older copy that a new primary must not be applied on top of.
     */
    @Override
    public int admit(long agentGeneration) throws IOException {
        synchronized (controlLock) {
            GroupState now = state.current();
            if (now.isPromoted()) {
                return GroupAck.STATUS_OK; // the session fences the agent
            }
            long source = now.sourceGenerationId();
            if (source == GroupState.SOURCE_ADOPT) {
                state.update(s -> s.withSource(agentGeneration));
                return GroupAck.STATUS_OK;
            }
            if (source == 0) {
                boolean zeroes = !replicas.empty();
                state.update(s -> s.withSyncNeeded(agentGeneration, zeroes, clock.epochNanos()));
                LOG.info("group {}: the replicas do not hold the agent's volumes yet ({}); an initial sync of {} starts",
                        group, zeroes ? "a replica holds other data" : "they are new and empty",
                        zeroes ? "every region" : "the regions that hold data");
                return zeroes ? GroupAck.STATUS_SYNC_ALL : GroupAck.STATUS_SYNC_EMPTY;
            }
            if (source != agentGeneration) {
                throw new IllegalStateException("group " + group + ": the agent's data generation "
                        + Long.toHexString(agentGeneration) + " is not the one the replicas follow ("
                        + Long.toHexString(source) + "): the agent's state was lost or replaced, or another agent"
                        + " reuses the group's name. Nothing is applied on top of the replicas, which stay a consistent"
                        + " copy. To protect the agent's volumes anew, stop the receiver and move <dataDir>/groups/"
                        + group + " aside (its recovery points go with it) but keep <dataDir>/replicas/" + group
                        + ": a checksum sync then sends only what differs");
            }
            if (now.resyncing()) {
                return GroupAck.STATUS_OK; // the agent's dirty map tells it what is left to resync
            }
            if (!now.consistent()) {
                return now.sync() != null && now.sync().zeroes() ? GroupAck.STATUS_SYNC_ALL
                        : GroupAck.STATUS_SYNC_EMPTY;
            }
            return GroupAck.STATUS_OK;
        }
    }

    /**
     * A SYNC mark (event loop): handed to the applier, which acts on it once it has applied the
     * mark's seq: BEGIN and END are persisted, PROGRESS is shown. Returns at once.
     */
    @Override
    public void syncMark(SyncMark mark) {
        if (mark.phase() == SyncMark.BEGIN && mark.kind() == SyncMark.RESYNC) {
            // Persisted before any later seq is durable: a crash must not leave the deltas of a
            // half-done resync behind a state that calls the replicas consistent.
            writer.barrier(() -> {
                GroupState now = state.update(s -> s.isPromoted() ? s
                        : s.withResyncBegun(mark.seq(), mark.totalBytes(), clock.epochNanos()));
                LOG.info("group {}: a resync of {} bytes of dirty regions begins after seq {}; seq {} stays the last"
                        + " consistent point until it ends", group, mark.totalBytes(), mark.seq(), now.lastConsistentSeq());
            });
        }
        applier.callSoon(() -> {
            pendingMarks.addLast(mark);
            applyDueMarks(applier.appliedSeq());
            return null;
        }).whenComplete((done, e) -> {
            if (e != null) {
                LOG.warn("group {}: sync mark at seq {} was not kept ({}); the agent syncs again on its next session",
                        group, mark.seq(), e.toString());
            }
        });
    }

    /** "initial sync", "resync", "verify" for log lines. */
    private static String syncLabel(String kind) {
        return "initial".equals(kind) ? "initial sync" : kind;
    }

    /** Applier thread: acts on every mark whose seq the replicas hold. */
    private void applyDueMarks(long appliedSeq) throws IOException {
        while (!pendingMarks.isEmpty() && pendingMarks.peekFirst().seq() <= appliedSeq) {
            SyncMark mark = pendingMarks.pollFirst();
            GroupState now = state.current();
            String kind = SyncMark.kindName(mark.kind());
            switch (mark.phase()) {
                case SyncMark.BEGIN -> {
                    if (now.consistent() && mark.kind() == SyncMark.INITIAL) {
                        LOG.warn("group {}: the agent began an initial sync the receiver did not ask for; ignored", group);
                        continue;
                    }
                    state.update(s -> s.withSyncBegun(kind, mark.totalBytes()));
                    lastProgress = state.current().sync();
                    LOG.info("group {}: {} of {} bytes began after seq {}", group, syncLabel(kind), mark.totalBytes(), mark.seq());
                }
                case SyncMark.PROGRESS -> {
                    GroupState.Sync sync = now.sync();
                    if (sync != null) {
                        lastProgress = sync.withDone(mark.doneBytes(), mark.totalBytes());
                    }
                }
                case SyncMark.END -> {
                    if (now.consistent()) {
                        continue;
                    }
                    long seq = mark.seq();
                    state.update(s -> s.withSyncEnded(seq));
                    lastProgress = null;
                    points.consistentAt(seq);
                    LOG.info("group {}: {} complete at seq {}: the replicas are a consistent copy", group, syncLabel(kind), seq);
                }
                default -> throw new IllegalStateException("unknown sync phase " + mark.phase());
            }
        }
    }

    /** The applier applies up to the durable seq, and no further than the oldest seq it must compare hashes at. */
    private long applyLimit() {
        long durable = durableSeq();
        PendingCompare first = compares.isEmpty() ? null : compares.first();
        return first == null ? durable : Math.min(durable, first.seq());
    }

    @Override
    public void compareHashes(BlockHashes hashes, Consumer<BlockDiff> reply) {
        compares.add(new PendingCompare(hashes.seq(), compareOrder.incrementAndGet(), hashes, reply));
        applier.call(() -> {
            runDueCompares(applier.appliedSeq());
            return null;
        }).whenComplete((done, e) -> {
            if (e != null) {
                LOG.warn("group {}: the hashes at seq {} were not compared ({}); the agent syncs again on its next"
                        + " session", group, hashes.seq(), e.toString());
            }
        });
    }

    /** Applier thread, between batches: compares every region whose seq the replicas hold. */
    private void runDueCompares(long appliedSeq) throws IOException {
        boolean any = false;
        PendingCompare due;
        while (!compares.isEmpty() && (due = compares.first()).seq() <= appliedSeq) {
            if (!compares.remove(due)) {
                continue;
            }
            if (due.seq() < appliedSeq) {
                LOG.warn("group {}: hashes at seq {} compared at seq {}: a difference may be a write since", group,
                        due.seq(), appliedSeq);
            }
            due.reply().accept(compare(due.hashes()));
            any = true;
        }
        if (any) {
            applier.wake();
        }
    }

    /** Hashes the region of {@code hashes} in the replica and returns the ranges that differ. */
    private BlockDiff compare(BlockHashes hashes) throws IOException {
        VolumeFile file = replicas.files()[hashes.volume()];
        long end = Math.min(hashes.end(), file.sizeBytes());
        int block = hashes.blockBytes();
        if (compareBuffer == null || compareBuffer.capacity() < block) {
            compareBuffer = java.nio.ByteBuffer.allocateDirect(block);
        }
        List<BlockDiff.Range> ranges = new java.util.ArrayList<>();
        long runStart = -1;
        long at = hashes.offset();
        for (int i = 0; i < hashes.count() && at < end; i++, at += block) {
            int length = (int) Math.min(block, end - at);
            compareBuffer.clear().limit(length);
            file.read(at, compareBuffer);
            boolean same = hasher.matches(compareBuffer, 0, length, hashes.hashes(), i * BlockHashes.HASH_BYTES);
            if (!same && runStart < 0) {
                runStart = at;
            } else if (same && runStart >= 0) {
                ranges.add(new BlockDiff.Range(runStart, (int) (at - runStart)));
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            ranges.add(new BlockDiff.Range(runStart, (int) (Math.min(at, end) - runStart)));
        }
        return new BlockDiff(group, hashes.seq(), hashes.volume(), hashes.offset(), end, ranges);
    }

    /**
     * Whether a resync runs with {@link #lastConsistentSeq()} still restorable: promote and drill
     * at "latest" get that seq. Lock-free.
     */
    public boolean resyncing() {
        return state.current().resyncing();
    }

    /** Whether the replicas hold a consistent copy of the agent's volumes. Lock-free. */
    @Override
    public boolean consistent() {
        return state.current().consistent();
    }

    @Override
    public long lastConsistentSeq() {
        GroupState now = state.current();
        return now.consistent() ? appliedSeq() : now.lastConsistentSeq();
    }

    /** The sync under way with the progress the agent reported last, or null. */
    @Override
    public GroupState.Sync syncProgress() {
        GroupState now = state.current();
        if (now.consistent() || now.sync() == null) {
            return null;
        }
        GroupState.Sync progress = lastProgress;
        return progress != null ? progress : now.sync();
    }

    /** The group's recovery points (their list is read lock-free by any thread). */
    public RecoveryPoints points() {
        return points;
    }

    /** Waits until {@link #appliedSeq()} reaches {@code seq}; false on timeout or if applying stopped. */
    public boolean awaitApplied(long seq, Duration timeout) throws InterruptedException {
        return applier.awaitApplied(seq, timeout);
    }

    /** Null while healthy; else why the journal or applying stopped (the group's state is then {@code failed}). */
    @Override
    public String failure() {
        String journalFailure = writer.failure();
        return journalFailure != null ? journalFailure : applier.failure();
    }

    /**
     * Stops the drill, then the journal thread after everything handed over is durable and
     * reported, then the applier after its batch in progress, then closes the journal, the undo
     * log and the replicas. Idempotent.
     */
    @Override
    public void close() {
        synchronized (controlLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            stopDrill();
        } catch (IOException | RuntimeException e) {
            LOG.warn("group {}: stopping the drill on close failed: {}", group, e.toString());
        }
        RuntimeException failure = null;
        try {
            writer.close();
        } catch (RuntimeException e) {
            failure = e;
        }
        try {
            applier.close();
        } catch (RuntimeException e) {
            failure = failure == null ? e : failure;
        }
        try {
            journal.close();
        } catch (RuntimeException e) {
            failure = failure == null ? e : failure;
        }
        try {
            undo.close();
        } catch (IOException | RuntimeException e) {
            failure = failure == null ? new IllegalStateException("group " + group + ": cannot close the undo log: " + e,
                    e) : failure;
        }
        try {
            replicas.close();
        } catch (RuntimeException e) {
            failure = failure == null ? e : failure;
        }
        if (failure != null) {
            throw failure;
        }
    }
}
