package io.ferry.receiver.store;

import io.ferry.metrics.LatencyRecorder;
import java.util.function.LongConsumer;
import io.ferry.config.Names;
import io.ferry.receiver.apply.Applier;
import io.ferry.receiver.drill.DrillVolume;
import io.ferry.receiver.journal.DeltaJournal;
import io.ferry.receiver.journal.JournalWriter;
import io.ferry.receiver.undo.UndoLog;
import io.ferry.delta.Delta;
import java.nio.ByteBuffer;
import io.ferry.time.EpochNanoClock;
import io.ferry.volume.VolumeFile;
import io.ferry.wire.VolumeInfo;
import io.ferry.wire.WireCodec;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consistency group at the DR site: its journal, its replica images and the thread that
 * applies the one to the other. The session hands it DELTA bodies ({@link #append}) and
 * acknowledges what {@code onDurable} reports; the applier brings the replicas up to the
 * durable seq in the background.
 *
 * <h2>Files</h2>
 * {@code <dataDir>/groups/<group>/state.json} (generation id, volumes, applied seq, promoted; see
 * {@link GroupState}), {@code <dataDir>/groups/<group>/journal/} (a {@link DeltaJournal}) and
 * {@code <dataDir>/replicas/<group>/<volume>.img} (raw, sparse).
 *
 * <h2>Threads</h2>
 * Two threads per group: {@code ferry-journal-<group>} writes and syncs the journal in groups
 * and calls {@code onDurable}; {@code ferry-apply-<group>} reads durable records and writes the
 * replicas. {@link #append}, {@link #whenDurable} and the getters may be called from any thread
 * and never block on disk. {@link #attachVolumes} creates and syncs files (once per group, on
 * the first HELLO) and is serialised. {@link #close} joins both threads.
 *
 * <h2>After a crash</h2>
 * Open recovers the journal (a torn record never surfaces), syncs it and takes all of it as
 * durable, then the applier replays from the persisted applied seq + 1. Applying is
 * idempotent, so the replicas reach the journal's state whether the crash came before, during
 * or after a batch's writes.
 */
public final class GroupReplica implements AutoCloseable {

    /** Tuning of a group; {@link #defaults()} for the daemon. */
    public record Options(DeltaJournal.Options journal, long journalBatchBytes, Applier.Options apply,
            JournalRetention retention, UndoLog.Options undo, long undoMaxBytes) {
        public static final long DEFAULT_JOURNAL_BATCH_BYTES = 16L << 20;
        public static final long DEFAULT_UNDO_MAX_BYTES = 64L << 30;

        public Options {
            Objects.requireNonNull(journal, "journal");
            Objects.requireNonNull(apply, "apply");
            Objects.requireNonNull(retention, "retention");
            Objects.requireNonNull(undo, "undo");
            if (journalBatchBytes <= 0) {
                throw new IllegalArgumentException("journalBatchBytes must be > 0, got " + journalBatchBytes);
            }
            if (undoMaxBytes <= 0) {
                throw new IllegalArgumentException("undoMaxBytes must be > 0, got " + undoMaxBytes);
            }
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
            return new Options(journal, journalBatchBytes, apply, retention, undo, maxBytes);
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(GroupReplica.class);
    private static final VolumeFile[] NO_REPLICAS = new VolumeFile[0];

    private final Path dataDir;
    private final String group;
    private final GroupState state;
    private final DeltaJournal journal;
    private final JournalWriter writer;
    private final Applier applier;
    private final RecoveryPoints points;
    private final UndoLog undo;
    private final long undoMaxBytes;
    private final Object attachLock = new Object();

    private volatile VolumeFile[] replicas;
    private volatile boolean closed;
    /** Sees every delta after the undo log, before the replicas: a running drill preserves what is overwritten. */
    private volatile Applier.BeforeWrite drillHook = Applier.BeforeWrite.NONE;
    /** The running drill's clones by volume index, or null; changed under attachLock with the applier paused. */
    private volatile DrillVolume[] drill;
    private volatile long drillSeq;
    private boolean undoOverBound;
    /** The journal's last seq at open: applied once the replay after a restart is done. */
    private final long replayToSeq;
    private static final Duration REPLAY_WAIT = Duration.ofMinutes(5);

    private GroupReplica(Path dataDir, String group, GroupState state, DeltaJournal journal, VolumeFile[] replicas,
            Options options, RecoveryPoints points, UndoLog undo) {
        this.dataDir = dataDir;
        this.undo = undo;
        this.undoMaxBytes = options.undoMaxBytes();
        this.replayToSeq = state.promotedEpochNanos() != 0 ? 0 : journal.lastSeq();
        this.points = points;
        this.group = group;
        this.state = state;
        this.journal = journal;
        this.replicas = replicas;
        this.applier = new Applier(journal, state.appliedSeq(), state.appliedCaptureNanos(), this::durableSeq,
                () -> this.replicas, (appliedSeq, appliedCaptureNanos) -> {
                    state.setApplied(appliedSeq, appliedCaptureNanos);
                    points.onApplied(appliedSeq);
                    trimUndo();
                },
                applied -> Math.min(applied, options.retention().releasableUpTo(applied)), this::beforeWrite,
                options.apply());
        this.writer = new JournalWriter(journal, options.journalBatchBytes(), applier::wake);
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
     * @throws io.ferry.receiver.journal.JournalException if the journal is damaged or open elsewhere
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
        GroupState state = GroupState.loadOrCreate(groupDir, group, clock.epochNanos());
        DeltaJournal journal = DeltaJournal.open(groupDir.resolve("journal"), group, options.journal());
        List<VolumeFile> opened = new ArrayList<>();
        UndoLog undo = null;
        try {
            boolean promoted = state.promotedEpochNanos() != 0; // replicas at the promoted seq, journal beyond it
            if (!promoted && journal.lastSeq() < state.appliedSeq()) {
                throw new IOException("group " + group + ": the journal in " + journal.directory() + " ends at seq "
                        + journal.lastSeq() + " but the replicas are applied up to seq " + state.appliedSeq()
                        + "; the journal was lost or replaced. Move the group's directories aside and let the group"
                        + " resync.");
            }
            if (!promoted && journal.firstSeq() > state.appliedSeq() + 1) {
                throw new IOException("group " + group + ": the journal in " + journal.directory() + " starts at seq "
                        + journal.firstSeq() + " but the replicas are applied only up to seq " + state.appliedSeq()
                        + "; the seqs between were lost. Move the group's directories aside and let the group resync.");
            }
            for (VolumeInfo volume : state.volumes()) {
                Path path = replicaPath(dataDir, group, volume.name());
                if (!Files.exists(path)) {
                    throw new IOException("group " + group + ": replica image " + path + " of volume " + volume.name()
                            + " is missing; restore it or move the group's directories aside and let the group resync");
                }
                opened.add(VolumeFile.openOrCreate(path, volume.sizeBytes()));
            }
            RecoveryPoints recoveryPoints = RecoveryPoints.open(groupDir, group, points, clock, state.appliedSeq());
            undo = UndoLog.open(groupDir.resolve("undo"), group, state.appliedSeq(), options.undo());
            int dropped = recoveryPoints.pruneBefore(undo.baseSeq());
            if (dropped > 0) {
                LOG.warn("group {}: {} recovery point(s) before seq {} are dropped: the undo log no longer reaches"
                        + " them", group, dropped, undo.baseSeq());
            }
            VolumeFile[] files = opened.toArray(new VolumeFile[0]);
            if (state.promotingToSeq() >= 0 && state.promotedEpochNanos() == 0) {
                finishInterruptedPromote(group, state, undo, files, clock.epochNanos());
            }
            GroupReplica replica = new GroupReplica(dataDir, group, state, journal, files, options, recoveryPoints,
                    undo);
            replica.writer.start();
            if (!replica.isPromoted()) {
                replica.applier.start(); // a promoted replica is the primary now: nothing is applied to it
            }
            return replica;
        } catch (IOException | RuntimeException e) {
            for (VolumeFile file : opened) {
                closeQuietly(file);
            }
            if (undo != null) {
                try {
                    undo.close();
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

    /**
     * Attaches the volumes the agent announced in HELLO. The first call creates each
     * {@code <dataDir>/replicas/<group>/<volume>.img} sparse at its size, syncs the files and
     * their directory and persists the list; later calls must announce exactly the same list
     * (names, order, sizes). Does file I/O on the first call: call it off the event loop, or
     * accept the one-time cost.
     *
     * @throws IllegalStateException naming the difference when the list does not match the
     *         attached one (the session answers with an ERROR frame), or when closed
     * @throws IllegalArgumentException for an empty list or a duplicate volume name
     * @throws IOException if an image cannot be created (an existing file of another size included)
     */
    public void attachVolumes(List<VolumeInfo> volumes) throws IOException {
        Objects.requireNonNull(volumes, "volumes");
        synchronized (attachLock) {
            if (closed) {
                throw new IllegalStateException("group " + group + " is closed");
            }
            List<VolumeInfo> attached = state.volumes();
            if (!attached.isEmpty()) {
                String difference = difference(attached, volumes);
                if (difference != null) {
                    throw new IllegalStateException("group " + group + ": the agent announces volumes "
                            + describe(volumes) + " but the replicas were created for " + describe(attached) + ": "
                            + difference + ". A group's volumes cannot change; create a new group for other volumes.");
                }
                return;
            }
            checkNewVolumes(volumes);
            Path dir = dataDir.resolve("replicas").resolve(group);
            Files.createDirectories(dir);
            List<VolumeFile> created = new ArrayList<>();
            try {
                for (VolumeInfo volume : volumes) {
                    VolumeFile file = VolumeFile.openOrCreate(dir.resolve(volume.name() + ".img"), volume.sizeBytes());
                    created.add(file);
                    file.force();
                }
                GroupState.forceDirectory(dir);
                GroupState.forceDirectory(dir.getParent());
                state.setVolumes(volumes);
            } catch (IOException | RuntimeException e) {
                for (VolumeFile file : created) {
                    closeQuietly(file);
                }
                throw e;
            }
            replicas = created.toArray(new VolumeFile[0]);
        }
    }

    private void checkNewVolumes(List<VolumeInfo> volumes) {
        if (volumes.isEmpty()) {
            throw new IllegalArgumentException("group " + group + ": the agent announces no volumes; a group needs at"
                    + " least one");
        }
        if (volumes.size() > io.ferry.delta.DeltaFormat.MAX_VOLUME_INDEX + 1) {
            throw new IllegalArgumentException("group " + group + ": " + volumes.size() + " volumes announced, at most "
                    + (io.ferry.delta.DeltaFormat.MAX_VOLUME_INDEX + 1) + " fit in a DELTA");
        }
        Set<String> names = new HashSet<>();
        for (VolumeInfo volume : volumes) {
            if (!names.add(volume.name())) {
                throw new IllegalArgumentException("group " + group + ": volume \"" + volume.name()
                        + "\" is announced twice");
            }
        }
    }

    private static String difference(List<VolumeInfo> attached, List<VolumeInfo> announced) {
        for (int i = 0; i < Math.min(attached.size(), announced.size()); i++) {
            VolumeInfo a = attached.get(i);
            VolumeInfo b = announced.get(i);
            if (!a.name().equals(b.name())) {
                return "volume " + i + " is \"" + b.name() + "\", expected \"" + a.name() + "\"";
            }
            if (a.sizeBytes() != b.sizeBytes()) {
                return "volume \"" + a.name() + "\" is " + b.sizeBytes() + " bytes, expected " + a.sizeBytes();
            }
        }
        if (attached.size() != announced.size()) {
            return announced.size() + " volumes announced, expected " + attached.size();
        }
        return null;
    }

    private static String describe(List<VolumeInfo> volumes) {
        StringBuilder sb = new StringBuilder("[");
        for (VolumeInfo v : volumes) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(v.name()).append(" (").append(v.sizeBytes()).append(" bytes)");
        }
        return sb.append(']').toString();
    }

    /** The attached volumes in HELLO order; empty before the first {@link #attachVolumes}. */
    public List<VolumeInfo> volumes() {
        return state.volumes();
    }

    /** {@code <dataDir>/replicas/<group>/<volume>.img} (whether or not it exists yet). */
    public Path replicaPath(String volume) {
        return replicaPath(dataDir, group, volume);
    }

    private static Path replicaPath(Path dataDir, String group, String volume) {
        return dataDir.resolve("replicas").resolve(group).resolve(Names.check("volume", volume) + ".img");
    }

    /** Random, non-zero, created with the group and persisted; replaced by {@link #markPromoted}. */
    public long generationId() {
        return state.generationId();
    }

    /** Whether the group was promoted (persisted): it takes no more deltas. */
    public boolean isPromoted() {
        return state.promotedEpochNanos() != 0;
    }

    /** When the group was promoted (epoch nanos), 0 while it replicates. */
    public long promotedEpochNanos() {
        return state.promotedEpochNanos();
    }

    /**
     * Makes the promote durable: syncs every replica, then persists the group as promoted with a
     * new random generation id in one atomic write of state.json. The caller has stopped the
     * appends and waited until everything durable is applied.
     *
     * @return the new generation id
     * @throws IllegalStateException if already promoted, failed, closed, or not everything durable is applied
     * @throws IOException if a replica or the state cannot be synced
     */
    public long markPromoted(long nowEpochNanos) throws IOException {
        synchronized (attachLock) {
            checkPromotable();
            long durable = durableSeq();
            long applied = appliedSeq();
            if (applied != durable || receivedSeq() != durable) {
                throw new IllegalStateException("group " + group + " is not quiescent: received seq " + receivedSeq()
                        + ", durable seq " + durable + ", applied seq " + applied);
            }
            return promoteTo(applied, nowEpochNanos);
        }
    }

    /** Applier thread: the old bytes go to the undo log (synced), then to a running drill. */
    private void beforeWrite(Delta delta, VolumeFile[] volumes) throws IOException {
        try {
            undo.capture(delta, volumes);
        } catch (IOException e) {
            // Point-in-time recovery degrades, replication does not stop: without this delta's
            // pre-image no earlier point can be rolled back to, so the log starts over after it.
            undo.startOver(delta.lastSeq());
            int dropped = points.pruneBefore(delta.lastSeq());
            LOG.error("group {}: cannot record the old contents of delta {}..{} in the undo log ({}); replication"
                    + " goes on, but the undo log starts over after seq {} and {} earlier recovery point(s) are"
                    + " dropped. Free space in {} or lower undo.maxBytes.", group, delta.firstSeq(), delta.lastSeq(),
                    e.toString(), delta.lastSeq(), dropped, undo.directory());
        }
        drillHook.beforeWrite(delta, volumes);
    }

    /**
     * Applier thread, after each applied batch: drops undo segments older than the oldest
     * retained point, then, while the log is over its byte bound, the oldest segments and the
     * points they held (logged once per episode: the point-in-time window shrinks, replication
     * goes on).
     */
    private void trimUndo() throws IOException {
        long oldest = points.oldestSeq();
        if (oldest >= 0) {
            undo.release(oldest);
        }
        boolean over = false;
        while (undo.bytesOnDisk() > undoMaxBytes && undo.releaseOldest()) {
            over = true;
        }
        if (over) {
            int dropped = points.pruneBefore(undo.baseSeq());
            if (!undoOverBound) {
                LOG.warn("group {}: the undo log reached its bound of {} bytes; the oldest recoverable seq is now {}"
                        + " ({} point(s) dropped). Raise undo.maxBytes or shorten retention.", group, undoMaxBytes,
                        undo.baseSeq(), dropped);
            }
        } else if (undoOverBound && undo.bytesOnDisk() <= undoMaxBytes / 2) {
            LOG.info("group {}: the undo log is back under half its bound ({} bytes)", group, undo.bytesOnDisk());
        }
        undoOverBound = over || (undoOverBound && undo.bytesOnDisk() > undoMaxBytes / 2);
    }

    private static void finishInterruptedPromote(String group, GroupState state, UndoLog undo, VolumeFile[] files,
            long nowEpochNanos) throws IOException {
        long seq = state.promotingToSeq();
        LOG.warn("group {}: a promote to seq {} was interrupted; finishing the rollback before anything else", group,
                seq);
        undo.rollback(seq, rollbackTarget(files));
        for (VolumeFile file : files) {
            file.force();
        }
        long generation = state.promote(nowEpochNanos, seq);
        LOG.warn("group {}: promote to seq {} finished after the restart (generation {})", group, seq, generation);
    }

    /** Writes pre-images back to the replicas. */
    static UndoLog.Target rollbackTarget(VolumeFile[] files) {
        return new UndoLog.Target() {
            @Override
            public void write(int volume, long offset, ByteBuffer data) throws IOException {
                files[volume].write(offset, data);
            }

            @Override
            public void zero(int volume, long offset, long length) throws IOException {
                files[volume].zero(offset, length);
            }
        };
    }

    /** Work done while the applier is held between batches. */
    @FunctionalInterface
    public interface PausedAction {
        void run() throws IOException;
    }

    /**
     * Runs {@code action} while the applier is held between batches: the replicas hold exactly
     * {@link #appliedSeq()} throughout (the way to read them, or set up a drill, at a point).
     */
    public void whilePaused(PausedAction action) throws IOException {
        try (Applier.Pause paused = applier.pause()) {
            action.run();
        }
    }

    /**
     * Writes to {@code target} the old contents of everything the replicas changed after
     * {@code seq}, newest first: a target that held the replicas' applied state ends at the state
     * of {@code seq}. Pauses the applier meanwhile.
     *
     * @throws IllegalArgumentException if {@code seq} is before {@link #oldestRecoverableSeq()} or after the applied seq
     */
    public void rollback(long seq, UndoLog.Target target) throws IOException {
        whilePaused(() -> {
            if (seq < undo.baseSeq() || seq > applier.appliedSeq()) {
                throw new IllegalArgumentException("group " + group + ": seq " + seq + " is outside the recoverable"
                        + " range " + undo.baseSeq() + ".." + applier.appliedSeq());
            }
            undo.rollback(seq, target);
        });
    }

    /**
     * Starts a drill: a writable copy-on-write clone of every volume as it was at {@code seq}
     * (at most the applied seq, at least {@link #oldestRecoverableSeq()}), scratch files in
     * {@code scratchDir}. While the drill runs, the applier preserves into each clone what it is
     * about to overwrite, so replication goes on and the clones stay at {@code seq}; nothing
     * written to a clone reaches a replica. Set up while the applier is paused, for as long as
     * rolling the clones back from the applied seq to {@code seq} takes.
     *
     * @return the clones, by volume index
     * @throws IllegalStateException if a drill runs already, or the group is promoted, failed, closed or has no volumes
     * @throws IllegalArgumentException if {@code seq} is outside the recoverable range
     */
    public List<DrillVolume> startDrill(long seq, Path scratchDir) throws IOException {
        synchronized (attachLock) {
            if (closed || isPromoted() || failure() != null || drill != null || replicas.length == 0) {
                throw new IllegalStateException("group " + group + " cannot start a drill: " + (closed ? "closed"
                        : isPromoted() ? "promoted" : failure() != null ? "failed: " + failure()
                        : drill != null ? "a drill is running already (at seq " + drillSeq + ")"
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
            Files.createDirectories(scratchDir);
            VolumeFile[] files = replicas;
            DrillVolume[] clones = new DrillVolume[files.length];
            List<VolumeInfo> volumes = state.volumes();
            try {
                whilePaused(() -> {
                    long applied = applier.appliedSeq();
                    if (seq > applied || seq < undo.baseSeq()) {
                        throw new IllegalArgumentException("group " + group + ": seq " + seq + " is outside the"
                                + " recoverable range " + undo.baseSeq() + ".." + applied);
                    }
                    for (int v = 0; v < files.length; v++) {
                        clones[v] = DrillVolume.create(files[v], scratchDir.resolve(volumes.get(v).name() + ".scratch"));
                    }
                    if (seq < applied) {
                        undo.rollback(seq, drillTarget(clones));
                    }
                    drillHook = (delta, replicasNow) -> {
                        synchronized (clones) { // stopDrill closes the clones under this lock
                            if (drill != clones) {
                                return; // stopped meanwhile
                            }
                            try {
                                int count = delta.extentCount();
                                for (int i = 0; i < count; i++) {
                                    clones[delta.volumeIndex(i)].preserve(delta.offset(i), delta.length(i));
                                }
                            } catch (IOException | RuntimeException e) {
                                // A drill never stops replication: the clones can no longer show
                                // their point, so they are closed (clients get EIO, never wrong data).
                                LOG.error("group {}: the drill's clones cannot preserve what replication overwrites"
                                        + " ({}); they are closed, stop the drill and start it again", group,
                                        e.toString());
                                drillHook = Applier.BeforeWrite.NONE;
                                closeClones(clones);
                            }
                        }
                    };
                    drill = clones;
                    drillSeq = seq;
                });
            } catch (IOException | RuntimeException e) {
                closeClones(clones);
                throw e;
            }
            return List.of(clones);
        }
    }

    private static UndoLog.Target drillTarget(DrillVolume[] clones) {
        return new UndoLog.Target() {
            @Override
            public void write(int volume, long offset, ByteBuffer data) throws IOException {
                clones[volume].restore(offset, data);
            }

            @Override
            public void zero(int volume, long offset, long length) throws IOException {
                clones[volume].restoreZeroes(offset, length);
            }
        };
    }

    /**
     * Stops the running drill: the applier stops preserving, the clones are closed and their
     * scratch files deleted. The replicas were never written through the clones.
     *
     * @return false when no drill was running
     */
    public boolean stopDrill() throws IOException {
        synchronized (attachLock) {
            DrillVolume[] clones = drill;
            if (clones == null) {
                return false;
            }
            // Without pausing the applier (a batch may take seconds under load): the hook checks
            // drill under the clones' lock, so no preserve runs on a closed clone.
            drillHook = Applier.BeforeWrite.NONE;
            synchronized (clones) {
                drill = null;
                closeClones(clones);
            }
            return true;
        }
    }

    private void closeClones(DrillVolume[] clones) {
        for (DrillVolume clone : clones) {
            if (clone != null) {
                try {
                    clone.close();
                } catch (IOException | RuntimeException e) {
                    LOG.warn("group {}: cannot delete drill scratch {}: {}", group, clone.scratchPath(), e.toString());
                }
            }
        }
    }

    /** Whether a drill runs. */
    public boolean drilling() {
        return drill != null;
    }

    /** The seq the running drill's clones show (meaningful while {@link #drilling()}). */
    public long drillSeq() {
        return drillSeq;
    }

    /** Scratch bytes the running drill holds (0 without a drill). */
    public long drillScratchBytes() {
        DrillVolume[] clones = drill;
        long total = 0;
        if (clones != null) {
            for (DrillVolume clone : clones) {
                total += clone.scratchBytes();
            }
        }
        return total;
    }

    /** The oldest seq the replicas can be rolled back to (promote or drill at a point). */
    public long oldestRecoverableSeq() {
        return undo.baseSeq();
    }

    /** Bytes the undo log holds on disk. */
    public long undoBytes() {
        return undo.bytesOnDisk();
    }

    /** The bound on {@link #undoBytes()} (undo.maxBytes). */
    public long undoMaxBytes() {
        return undoMaxBytes;
    }

    /**
     * Promotes the group at {@code seq}, at most the applied seq: rolls the replicas back through
     * the undo log when {@code seq} is earlier, syncs them, and persists the promoted state with a
     * new generation id. The intent is persisted before the rollback starts, so a crash during it
     * ends, on restart, with the rollback finished and the group promoted (never half). The caller
     * has fenced the group (no more appends); the applier is paused at a batch boundary and not
     * resumed, so deltas durable but not yet applied are left unapplied. For "latest" use
     * {@link #markPromoted}, which first requires everything durable to be applied.
     *
     * @return the new generation id
     * @throws IllegalArgumentException if {@code seq} is after the applied seq or before {@link #oldestRecoverableSeq()}
     * @throws IllegalStateException if already promoted, failed, closed, or a drill runs
     */
    public long promoteTo(long seq, long nowEpochNanos) throws IOException {
        synchronized (attachLock) {
            checkPromotable();
            long generation;
            // Paused, so nothing more is applied: durable deltas after the applied seq (a backlog
            // under load) are not applied first only to be rolled back; they stay in the journal.
            try (Applier.Pause paused = applier.pause()) {
                long applied = applier.appliedSeq();
                if (seq > applied) {
                    throw new IllegalArgumentException("group " + group + ": seq " + seq + " is not applied yet"
                            + " (applied " + applied + ")");
                }
                if (seq < applied) {
                    if (seq < undo.baseSeq()) {
                        throw new IllegalArgumentException("group " + group + ": seq " + seq + " is before the oldest"
                                + " recoverable seq " + undo.baseSeq());
                    }
                    state.setPromotingTo(seq);
                    undo.rollback(seq, rollbackTarget(replicas));
                }
                for (VolumeFile file : replicas) {
                    file.force();
                }
                generation = state.promote(nowEpochNanos, seq);
            }
            applier.close(); // nothing may be applied to the promoted replicas
            return generation;
        }
    }

    private void checkPromotable() {
        if (closed) {
            throw new IllegalStateException("group " + group + " is closed");
        }
        if (drill != null) {
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

    /** Highest seq handed to the journal (maybe not yet durable). */
    public long receivedSeq() {
        return writer.receivedSeq();
    }

    /** Highest seq synced in the journal: the only seq ever acknowledged. */
    public long durableSeq() {
        return writer.durableSeq();
    }

    /**
     * Highest seq applied to the replicas and synced there; always a delta boundary. Once promoted,
     * the seq the replicas were promoted at (earlier than the durable seq after a rollback).
     */
    public long appliedSeq() {
        return isPromoted() ? state.appliedSeq() : applier.appliedSeq();
    }

    /** Capture time of the last write of the last durable delta (0 for an empty group). */
    public long lastDurableCaptureNanos() {
        return writer.lastDurableCaptureNanos();
    }

    /** Capture time of the last write of the last applied delta (0 before the first). */
    public long lastAppliedCaptureNanos() {
        return applier.appliedCaptureNanos();
    }

    /** DELTA body bytes handed over but not yet written to the journal: pause reading above a bound. */
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
    public void append(ByteBuf deltaBody, long firstSeq, long lastSeq, long lastCaptureNanos, LongConsumer onDurable) {
        Objects.requireNonNull(onDurable, "onDurable");
        try {
            if (closed) {
                throw new IllegalStateException("group " + group + " is closed");
            }
            if (state.promotedEpochNanos() != 0) {
                throw new IllegalStateException("group " + group + " was promoted at the DR site; it takes no deltas");
            }
            if (replicas.length == 0) {
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
    public void whenDurable(LongConsumer onDurable) {
        Objects.requireNonNull(onDurable, "onDurable");
        writer.whenDurable(onDurable);
    }

    /** The group's recovery points. */
    public RecoveryPoints points() {
        return points;
    }

    /** Waits until {@link #appliedSeq()} reaches {@code seq}; false on timeout or if applying stopped. */
    public boolean awaitApplied(long seq, Duration timeout) throws InterruptedException {
        return applier.awaitApplied(seq, timeout);
    }

    /** Null while healthy; else why the journal or applying stopped (the group's state is then {@code failed}). */
    public String failure() {
        String journalFailure = writer.failure();
        return journalFailure != null ? journalFailure : applier.failure();
    }

    /**
     * Stops the journal thread after everything handed over is durable and reported, then the
     * applier after its batch in progress, then closes the journal and the replicas. Idempotent.
     */
    @Override
    public void close() {
        synchronized (attachLock) {
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
        for (VolumeFile file : replicas) {
            try {
                file.close();
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        replicas = NO_REPLICAS;
        if (failure != null) {
            throw failure;
        }
    }

    private static void closeQuietly(VolumeFile file) {
        try {
            file.close();
        } catch (RuntimeException ignored) {
            // the failure being reported matters more
        }
    }
}
