package io.ferry.receiver.recovery;

import io.ferry.capture.CaptureGroup;
import io.ferry.capture.GroupCapture;
import io.ferry.capture.bitmap.JournalBudget;
import io.ferry.capture.nbd.CapturedVolume;
import io.ferry.daemon.PrivateFiles;
import io.ferry.time.EpochNanoClock;
import io.ferry.nbd.NbdExportRegistry;
import io.ferry.replica.drill.DrillVolume;
import io.ferry.receiver.session.GroupLink;
import io.ferry.replica.store.GroupReplica;
import io.ferry.replica.store.RecoveryPoints;
import io.ferry.wire.VolumeInfo;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiver's recovery use cases: promote a group (to latest or to a recovery point) and run
 * a drill (start at a point, stop), each ending in NBD exports. Refusals are
 * {@link RecoveryException}s with a stable {@link RecoveryError}; nothing here knows HTTP.
 *
 * <p>Threads: called on API threads; the calls are serialised on this object (a promote and a
 * drill of the same group must not interleave). The work that needs the replicas still runs on
 * the group's applier as commands ({@link GroupReplica}); this class waits for it. The devices
 * it exports are closed by {@link #close}.
 */
public final class GroupRecovery implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupRecovery.class);

    /** The point that means everything durable at the DR site. */
    public static final String LATEST = "latest";
    /** Where drills keep their scratch files, under the data directory. */
    public static final String DRILLS_DIR = "drills";
    static final String DRILL_SUFFIX = "-drill";
    /**
     * Where the capture of a promoted group's writes at this site lives, under the data directory
     * ({@code promoted/<group>/}: journal, dirty map, activity log, state).
     */
    public static final String PROMOTED_DIR = "promoted";
    /**
     * Journal bytes all promoted groups of this receiver keep together; beyond it a group's
     * writes are kept as dirty regions only (bitmap mode), so the disk used stays bounded however
     * long the DR site runs promoted.
     */
    static final long PROMOTED_JOURNAL_MAX_BYTES = 1L << 30;
    private static final int PROMOTED_RING_SIZE = 4096;
    /** How long a promote waits for the replica to apply everything durable. */
    static final Duration PROMOTE_APPLY_TIMEOUT = Duration.ofMinutes(10);

    /** What a promote answers. */
    public record PromoteResult(String group, String state, String point, long seq, long generationId,
                                long promoteMillis, List<Export> exports) {
    }

    /** One exported volume. */
    public record Export(String name, String uri) {
    }

    /** What a drill start answers. */
    public record DrillResult(String group, String state, String point, long seq, long drillStartMillis,
                              List<Export> exports) {
    }

    /** What a drill stop answers. */
    public record DrillStopResult(String group, String state, long scratchBytesDiscarded) {
    }

    private final String receiverId;
    private final Path dataDir;
    private final Map<String, GroupReplica> replicas;
    private final Map<String, GroupLink> links;
    private final NbdExportRegistry exports;
    /** The NBD listener's address, null while there is none (no nbd.listen, or not started yet). */
    private final Supplier<InetSocketAddress> nbdAddress;
    private final boolean nbdConfigured;
    private final List<GroupCapture> captures = new ArrayList<>();
    private final JournalBudget promotedBudget = new JournalBudget(PROMOTED_JOURNAL_MAX_BYTES);
    private final EpochNanoClock clock;

    /**
     * @param replicas the groups by name; {@code links} their replication links (to fence)
     * @param nbdConfigured whether receiver.yaml sets nbd.listen (exports are served)
     */
    public GroupRecovery(String receiverId, Path dataDir, Map<String, GroupReplica> replicas,
            Map<String, GroupLink> links, NbdExportRegistry exports, boolean nbdConfigured,
            Supplier<InetSocketAddress> nbdAddress, EpochNanoClock clock) {
        this.clock = clock;
        this.receiverId = receiverId;
        this.dataDir = dataDir;
        this.replicas = Map.copyOf(replicas);
        this.links = Map.copyOf(links);
        this.exports = exports;
        this.nbdConfigured = nbdConfigured;
        this.nbdAddress = nbdAddress;
    }

    /** Export name of a volume's drill clone. */
    public static String drillExportName(String volume) {
        return volume + DRILL_SUFFIX;
    }

    /** The retained recovery points of {@code group}, oldest first. */
    public List<RecoveryPoints.Point> points(String group) {
        return configured(group).points().list();
    }

    /**
     * Promotes {@code group} at {@code pointId} (a retained recovery point, or "latest"): fences
     * the group (no more deltas), for latest waits until everything durable is applied, stops a
     * running drill (its clones are discarded), rolls the replicas back through the undo log to the
     * point's seq when it is earlier than the applied one, persists the promoted state and exports
     * the volumes read-write. A crash anywhere in it is finished on restart.
     *
     * @throws RecoveryException {@code unknown_point}, {@code point_expired}, {@code already_promoted},
     *         {@code group_failed}, {@code no_nbd_listener}, {@code no_volumes}, {@code apply_timeout}
     */
    public synchronized PromoteResult promote(String group, String pointId, long nowEpochNanos)
            throws IOException, InterruptedException {
        long startNanos = System.nanoTime();
        GroupReplica replica = configured(group);
        GroupLink link = links.get(group);
        RecoveryPoints.Point point = LATEST.equals(pointId) || replica.isPromoted() ? null
                : recoverablePoint(replica, pointId);
        if (replica.isPromoted()) {
            throw new RecoveryException(RecoveryError.ALREADY_PROMOTED, "group " + group + " was already promoted"
                    + " (generation " + replica.generationId() + "); its volumes are exported at " + exportsOf(replica));
        }
        if (replica.failure() != null) {
            throw new RecoveryException(RecoveryError.GROUP_FAILED, "group " + group + " has failed and cannot be"
                    + " promoted: " + replica.failure());
        }
        checkConsistent(replica, "promoted");
        if (!nbdConfigured) {
            throw new RecoveryException(RecoveryError.NO_NBD_LISTENER, "receiver " + receiverId + " has no nbd.listen"
                    + " in receiver.yaml, so a promoted group's volumes could not be exported; set it and restart");
        }
        if (replica.volumes().isEmpty()) {
            throw new RecoveryException(RecoveryError.NO_VOLUMES, "group " + group + " has never been replicated (no"
                    + " volumes attached); there is nothing to promote");
        }
        link.fence();
        LOG.warn("promoting group {}: fenced (no more deltas)", group);
        // During a resync "latest" is the last consistent point: the replicas roll back to it.
        long resyncPoint = point == null && replica.resyncing() ? replica.lastConsistentSeq() : -1;
        if (resyncPoint >= 0) {
            LOG.warn("group {}: a resync runs; latest is its last consistent point, seq {}", group, resyncPoint);
            awaitApplied(replica, resyncPoint);
        } else if (point == null) {
            awaitEverythingApplied(replica);
        }
        if (replica.drilling()) {
            LOG.warn("group {}: stopping the running drill before the promote; its clones are discarded", group);
            stopDrill(group);
        }
        long seq;
        long generationId;
        try {
            if (resyncPoint >= 0) {
                seq = resyncPoint;
                generationId = replica.promoteTo(seq, nowEpochNanos);
            } else if (point == null) {
                generationId = replica.markPromoted(nowEpochNanos);
                seq = replica.appliedSeq();
            } else {
                seq = point.seq();
                generationId = replica.promoteTo(seq, nowEpochNanos);
            }
        } catch (IllegalArgumentException e) {
            throw new RecoveryException(RecoveryError.POINT_EXPIRED, "point " + pointId + " can no longer be"
                    + " recovered: " + e.getMessage() + "; the group stays fenced, promote to a later point");
        }
        List<Export> exported = exportPromoted(replica);
        long promoteMillis = (System.nanoTime() - startNanos) / 1_000_000;
        LOG.warn("group {} promoted at point {} (seq {}) in {} ms: new generation {}, exports {}", group, pointId,
                seq, promoteMillis, generationId, exported);
        return new PromoteResult(group, "promoted", pointId, seq, generationId, promoteMillis, exported);
    }

    /** Latest: waits until the journal is durable and the replica has applied all of it. */
    /** A group whose first sync has not ended has no point to promote or drill at. */
    private static void checkConsistent(GroupReplica replica, String action) {
        if (!replica.consistent() && !replica.resyncing()) {
            var sync = replica.syncProgress();
            throw new RecoveryException(RecoveryError.NOT_CONSISTENT, "group " + replica.group() + " cannot be " + action
                    + ": its replicas are not a consistent copy until the initial sync ends"
                    + (sync == null || sync.totalBytes() == 0 ? "" : " (" + sync.doneBytes() + " of " + sync.totalBytes()
                    + " bytes synced)"));
        }
    }

    /** Waits until the replica has applied {@code seq} (durable already: it is a resync's last consistent point). */
    private static void awaitApplied(GroupReplica replica, long seq) throws InterruptedException {
        if (!replica.awaitApplied(seq, PROMOTE_APPLY_TIMEOUT)) {
            String failure = replica.failure();
            throw new RecoveryException(failure != null ? RecoveryError.GROUP_FAILED : RecoveryError.APPLY_TIMEOUT,
                    "group " + replica.group() + ": the replica did not reach seq " + seq + " (applied "
                            + replica.appliedSeq() + ")" + (failure != null ? ": " + failure : " within "
                            + PROMOTE_APPLY_TIMEOUT + "; retry"));
        }
    }

    private static void awaitEverythingApplied(GroupReplica replica) throws InterruptedException {
        String group = replica.group();
        CompletableFuture<Long> durable = new CompletableFuture<>();
        replica.whenDurable(durable::complete);
        long durableSeq;
        try {
            durableSeq = durable.get(PROMOTE_APPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new RecoveryException(RecoveryError.APPLY_TIMEOUT, "group " + group + ": the journal did not become"
                    + " durable within " + PROMOTE_APPLY_TIMEOUT + "; the group stays fenced, retry the promote");
        }
        if (!replica.awaitApplied(durableSeq, PROMOTE_APPLY_TIMEOUT)) {
            String failure = replica.failure();
            throw new RecoveryException(failure != null ? RecoveryError.GROUP_FAILED : RecoveryError.APPLY_TIMEOUT,
                    "group " + group + ": the replica did not reach durable seq " + durableSeq + " (applied "
                            + replica.appliedSeq() + ")" + (failure != null ? ": " + failure
                            : " within " + PROMOTE_APPLY_TIMEOUT + "; the group stays fenced, retry the promote"));
        }
    }

    /**
     * Starts a drill of {@code group} at {@code pointId} (a retained point or "latest"): writable
     * copy-on-write clones of its volumes at that point, exported as {@code <volume>-drill}, while
     * replication of the group goes on.
     *
     * @throws RecoveryException {@code drill_running}, {@code promoted}, {@code group_failed},
     *         {@code no_volumes}, {@code no_nbd_listener}, {@code unknown_point}, {@code point_expired},
     *         {@code drill_refused}
     */
    public synchronized DrillResult startDrill(String group, String pointId) throws IOException {
        long startNanos = System.nanoTime();
        GroupReplica replica = configured(group);
        if (replica.isPromoted()) {
            throw new RecoveryException(RecoveryError.PROMOTED, "group " + group + " is promoted; its volumes are"
                    + " exported read-write already, a drill has nothing to test");
        }
        if (replica.drilling()) {
            throw new RecoveryException(RecoveryError.DRILL_RUNNING, "group " + group + " has a drill running already"
                    + " (at seq " + replica.drillSeq() + "); stop it first with DELETE /v1/groups/" + group + "/drill");
        }
        if (replica.failure() != null) {
            throw new RecoveryException(RecoveryError.GROUP_FAILED, "group " + group + " has failed: "
                    + replica.failure());
        }
        checkConsistent(replica, "drilled");
        if (!nbdConfigured) {
            throw new RecoveryException(RecoveryError.NO_NBD_LISTENER, "receiver " + receiverId + " has no nbd.listen"
                    + " in receiver.yaml, so drill clones could not be exported; set it and restart");
        }
        if (replica.volumes().isEmpty()) {
            throw new RecoveryException(RecoveryError.NO_VOLUMES, "group " + group + " has never been replicated;"
                    + " there is nothing to drill");
        }
        RecoveryPoints.Point point = LATEST.equals(pointId) ? null : recoverablePoint(replica, pointId);
        List<DrillVolume> clones;
        long at = point != null ? point.seq() : replica.resyncing() ? replica.lastConsistentSeq() : GroupReplica.LATEST;
        if (point == null && at != GroupReplica.LATEST) {
            try {
                awaitApplied(replica, at);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RecoveryException(RecoveryError.APPLY_TIMEOUT, "interrupted waiting for group " + group);
            }
            LOG.warn("group {}: a resync runs; the drill's latest is its last consistent point, seq {}", group, at);
        }
        try {
            clones = replica.startDrill(at,
                    dataDir.resolve(DRILLS_DIR).resolve(group));
        } catch (IllegalArgumentException e) {
            throw new RecoveryException(RecoveryError.POINT_EXPIRED, e.getMessage());
        } catch (IllegalStateException e) {
            throw new RecoveryException(RecoveryError.DRILL_REFUSED, e.getMessage());
        }
        long seq = replica.drillSeq();
        List<Export> exported = new ArrayList<>();
        List<VolumeInfo> volumes = replica.volumes();
        for (int v = 0; v < clones.size(); v++) {
            String name = drillExportName(volumes.get(v).name());
            exports.put(name, clones.get(v));
            exported.add(new Export(name, exportUri(name)));
        }
        long millis = (System.nanoTime() - startNanos) / 1_000_000;
        LOG.warn("group {}: drill started at point {} (seq {}) in {} ms; clones exported at {}; replication goes on",
                group, pointId, seq, millis, exported);
        return new DrillResult(group, "drill", pointId, seq, millis, exported);
    }

    /**
     * Stops the drill of {@code group}: its exports go away, its clones and scratch space are
     * discarded; the replicas were never written through them.
     *
     * @throws RecoveryException {@code no_drill}
     */
    public synchronized DrillStopResult stopDrill(String group) throws IOException {
        GroupReplica replica = configured(group);
        if (!replica.drilling()) {
            throw new RecoveryException(RecoveryError.NO_DRILL, "group " + group + " has no drill running");
        }
        long scratch = replica.drillScratchBytes();
        for (VolumeInfo volume : replica.volumes()) {
            exports.remove(drillExportName(volume.name()));
        }
        replica.stopDrill();
        LOG.warn("group {}: drill stopped; {} bytes of scratch space discarded", group, scratch);
        return new DrillStopResult(group, replica.isPromoted() ? "promoted" : "replicating", scratch);
    }

    /** Exports a promoted group's volumes read-write (at the promote, and at start for one promoted before). */
    public synchronized List<Export> exportPromoted(GroupReplica replica) throws IOException {
        String group = replica.group();
        List<CaptureGroup.Volume> volumes = new ArrayList<>();
        for (VolumeInfo volume : replica.volumes()) {
            volumes.add(new CaptureGroup.Volume(volume.name(), replica.replicaPath(volume.name()), volume.sizeBytes()));
        }
        // The writes made here from now on are captured as the agent captures its own: the
        // journal holds them in order (bounded by the budget), the dirty map what it cannot hold,
        // and the activity log what a host crash may have left unrecorded.
        Path dir = PrivateFiles.directories(dataDir.resolve(PROMOTED_DIR).resolve(group));
        GroupCapture capture = GroupCapture.open(group, dir, volumes, promotedBudget,
                new GroupCapture.Options(PROMOTED_JOURNAL_MAX_BYTES / 16, PROMOTED_RING_SIZE, true,
                        replica.generationId()), clock);
        captures.add(capture);
        links.get(group).drCapture(capture);
        List<Export> exported = new ArrayList<>();
        for (CapturedVolume device : capture.capture().exports()) {
            exports.put(device.name(), device);
            exported.add(new Export(device.name(), exportUri(device.name())));
        }
        return exported;
    }

    private GroupReplica configured(String group) {
        GroupReplica replica = replicas.get(group);
        if (replica == null) {
            throw new RecoveryException(RecoveryError.UNKNOWN_GROUP, "group \"" + group + "\" is not configured on"
                    + " this receiver");
        }
        return replica;
    }

    private static RecoveryPoints.Point recoverablePoint(GroupReplica replica, String pointId) {
        RecoveryPoints.Point point = replica.points().find(pointId);
        if (point == null) {
            throw new RecoveryException(RecoveryError.UNKNOWN_POINT, "group " + replica.group() + " has no recovery"
                    + " point \"" + pointId + "\"; GET /v1/groups/" + replica.group() + "/points lists them, or use"
                    + " \"latest\"");
        }
        if (point.seq() < replica.oldestRecoverableSeq()) {
            throw new RecoveryException(RecoveryError.POINT_EXPIRED, "point " + pointId + " (seq " + point.seq()
                    + ") is older than the undo log reaches (seq " + replica.oldestRecoverableSeq() + ")");
        }
        return point;
    }

    private List<String> exportsOf(GroupReplica replica) {
        List<String> uris = new ArrayList<>();
        for (VolumeInfo volume : replica.volumes()) {
            uris.add(exportUri(volume.name()));
        }
        return uris;
    }

    private String exportUri(String volume) {
        InetSocketAddress address = nbdAddress.get();
        return address == null ? null
                : "nbd://" + address.getAddress().getHostAddress() + ":" + address.getPort() + "/" + volume;
    }

    /**
     * Closes the captures of the promoted groups (each answers and syncs what it accepted).
     * Idempotent. The NBD server has stopped taking requests before.
     */
    @Override
    public synchronized void close() throws IOException {
        IOException failure = null;
        for (GroupCapture capture : captures) {
            try {
                capture.close();
            } catch (Exception e) {
                IOException io = e instanceof IOException x ? x : new IOException(e);
                failure = failure == null ? io : failure;
            }
        }
        captures.clear();
        if (failure != null) {
            throw failure;
        }
    }
}
