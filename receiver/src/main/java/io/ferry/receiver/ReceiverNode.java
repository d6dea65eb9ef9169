package io.ferry.receiver;

import io.ferry.api.ApiException;
import io.ferry.api.ApiServer;
import io.ferry.api.ApiToken;
import io.ferry.nbd.FileBlockDevice;
import io.ferry.nbd.NbdExportRegistry;
import io.ferry.nbd.NbdServer;
import io.ferry.receiver.api.ReceiverApi;
import io.ferry.receiver.api.ReceiverMetrics;
import io.ferry.metrics.MetricsRegistry;
import io.ferry.receiver.config.AllowedAgent;
import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.receiver.session.GroupLink;
import io.ferry.receiver.session.GroupTarget;
import io.ferry.receiver.session.ReplicationServer;
import io.ferry.receiver.session.SessionSettings;
import io.ferry.receiver.store.GroupReplica;
import io.ferry.receiver.drill.DrillVolume;
import io.ferry.journal.SegmentFiles;
import io.ferry.receiver.store.RecoveryPoints;
import io.ferry.time.EpochNanoClock;
import io.ferry.tls.TlsContexts;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiver daemon as an object: {@link #launch} opens a {@link GroupReplica} for every group
 * an agent owns in receiver.yaml (replaying what is durable but not applied), then starts the
 * replication port (TLS 1.3, client certificates), the management API and, when
 * {@code nbd.listen} is set, an NBD server whose export registry is empty until promote and drill
 * fill it. {@link #close} stops them in reverse order. {@code ReceiverMain} only parses
 * arguments; tests launch the same object in-process.
 */
public final class ReceiverNode implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ReceiverNode.class);

    private final ReceiverConfig config;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Map<String, GroupReplica> replicas = new LinkedHashMap<>();
    private final Map<String, GroupLink> links = new LinkedHashMap<>();
    private final NbdExportRegistry exports = new NbdExportRegistry();
    /** What {@code GET /metrics} serves; the journal writers and appliers record their latencies into it. */
    private final MetricsRegistry metrics = new MetricsRegistry();
    private ReplicationServer replication;
    private ApiServer api;
    private NbdServer nbd;
    private boolean closed;

    private ReceiverNode(ReceiverConfig config) {
        this.config = config;
    }

    /** Starts the receiver with the system clock; on any failure everything started so far is closed. */
    public static ReceiverNode launch(ReceiverConfig config) throws IOException {
        return launch(config, EpochNanoClock.system());
    }

    /**
     * Starts the receiver; {@code clock} stamps group creation and ages lag.
     *
     * @throws IOException when the data directory, a group's journal or replicas cannot be opened
     * @throws io.ferry.tls.TlsFileException naming the TLS file that is missing or wrong
     * @throws java.io.UncheckedIOException naming the address a listener cannot bind
     * @throws io.ferry.config.ConfigException for an api.token with unsafe permissions
     */
    public static ReceiverNode launch(ReceiverConfig config, EpochNanoClock clock) throws IOException {
        ReceiverNode node = new ReceiverNode(config);
        try {
            node.start(clock);
            return node;
        } catch (IOException | RuntimeException e) {
            try {
                node.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private void start(EpochNanoClock clock) throws IOException {
        Files.createDirectories(config.dataDir());
        String token = ApiToken.loadOrCreate(config.dataDir());
        SslContext sslContext = TlsContexts.server(config.tls());

        Path drills = config.dataDir().resolve(DRILLS_DIR);
        if (Files.exists(drills)) {
            LOG.warn("deleting drill scratch space left by a receiver that stopped during a drill ({}); drills do not"
                    + " survive a restart, start them again", drills);
            SegmentFiles.deleteRecursively(drills);
        }
        for (AllowedAgent agent : config.agents()) {
            for (String group : agent.groups()) {
                GroupReplica replica = GroupReplica.open(config.dataDir(), group, clock,
                        GroupReplica.Options.defaults().withUndoMaxBytes(config.undoMaxBytes()),
                        new RecoveryPoints.Policy(config.pointInterval(), config.retention()));
                resources.add(replica);
                replicas.put(group, replica);
                replica.metrics(ReceiverMetrics.journalSync(metrics, group, agent.id()),
                        ReceiverMetrics.applyBatch(metrics, group, agent.id()),
                        ReceiverMetrics.applyLag(metrics, group, agent.id()).ageSince(clock));
                GroupLink link = new GroupLink(group, agent.id(), new ReplicaTarget(replica));
                links.put(group, link);
                if (replica.isPromoted()) {
                    link.fence();
                    exportVolumes(replica);
                    LOG.info("group {} is promoted (generation {}); its volumes are exported read-write", group,
                            replica.generationId());
                } else if (replica.failure() != null) {
                    LOG.error("group {} has failed: {}", group, replica.failure());
                }
            }
        }

        replication = ReplicationServer.start(config.listen().toSocketAddress(), sslContext, config.id(),
                config.agents(), links, SessionSettings.defaults());
        resources.add(replication);

        api = ApiServer.start(config.apiListen().toSocketAddress(), token,
                ReceiverApi.routes(config.id(), List.copyOf(links.values()), clock, metrics, new ReceiverApi.Recovery() {
                    @Override
                    public Object promote(String group, String point) throws Exception {
                        return ReceiverNode.this.promote(group, point, clock);
                    }

                    @Override
                    public List<RecoveryPoints.Point> points(String group) {
                        return replicas.get(group).points().list();
                    }

                    @Override
                    public Object startDrill(String group, String point) throws Exception {
                        return ReceiverNode.this.startDrill(group, point);
                    }

                    @Override
                    public Object stopDrill(String group) throws Exception {
                        return ReceiverNode.this.stopDrill(group);
                    }
                }));
        resources.add(api);

        if (config.nbdListen() != null) {
            nbd = NbdServer.start(NbdServer.Options.tcp(config.nbdListen().toSocketAddress()), exports);
            resources.add(nbd);
        }
        LOG.info("receiver {} is up: replication {}, API {}{}, groups {}", config.id(), replicationAddress(),
                apiAddress(), nbd == null ? "" : ", NBD " + nbdAddress(), replicas.keySet());
    }

    /** What {@code POST /v1/groups/{g}/promote} answers. */
    public record PromoteResult(String group, String state, String point, long seq, long generationId,
                                long promoteMillis, List<Export> exports) {
    }

    /** One exported volume of a promoted group. */
    public record Export(String name, String uri) {
    }

    static final String DRILLS_DIR = "drills";
    static final String DRILL_SUFFIX = "-drill";

    /** How long a promote waits for the replica to apply everything durable. */
    static final Duration PROMOTE_APPLY_TIMEOUT = Duration.ofMinutes(10);

    /**
     * Promotes {@code group} at {@code pointId} (a retained recovery point, or "latest"): as
     * {@link #promote(String, EpochNanoClock)}, then rolls the replicas back through the undo log
     * to the point's seq when it is earlier than the applied one. A running drill is stopped
     * first (its clones are discarded).
     *
     * @throws ApiException also 404 {@code unknown_point}, 409 {@code point_expired}
     */
    public synchronized PromoteResult promote(String group, String pointId, EpochNanoClock clock)
            throws IOException, InterruptedException {
        long startNanos = System.nanoTime();
        GroupReplica replica = configured(group);
        GroupLink link = links.get(group);
        RecoveryPoints.Point point = ReceiverApi.LATEST.equals(pointId) || replica.isPromoted() ? null
                : recoverablePoint(replica, pointId);
        if (replica.isPromoted()) {
            throw new ApiException(409, "already_promoted", "group " + group + " was already promoted (generation "
                    + replica.generationId() + "); its volumes are exported at " + exportsOf(replica));
        }
        if (replica.failure() != null) {
            throw new ApiException(409, "group_failed", "group " + group + " has failed and cannot be promoted: "
                    + replica.failure());
        }
        if (nbd == null) {
            throw new ApiException(409, "no_nbd_listener", "receiver " + config.id() + " has no nbd.listen in"
                    + " receiver.yaml, so a promoted group's volumes could not be exported; set it and restart");
        }
        if (replica.volumes().isEmpty()) {
            throw new ApiException(409, "no_volumes", "group " + group + " has never been replicated (no volumes"
                    + " attached); there is nothing to promote");
        }
        link.fence();
        LOG.warn("promoting group {}: fenced (no more deltas)", group);
        if (point == null) { // latest: everything durable is applied first
            CompletableFuture<Long> durable = new CompletableFuture<>();
            replica.whenDurable(durable::complete);
            long durableSeq;
            try {
                durableSeq = durable.get(PROMOTE_APPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                throw new ApiException(503, "apply_timeout", "group " + group + ": the journal did not become durable"
                        + " within " + PROMOTE_APPLY_TIMEOUT + "; the group stays fenced, retry the promote");
            }
            if (!replica.awaitApplied(durableSeq, PROMOTE_APPLY_TIMEOUT)) {
                String failure = replica.failure();
                throw new ApiException(failure != null ? 409 : 503, failure != null ? "group_failed" : "apply_timeout",
                        "group " + group + ": the replica did not reach durable seq " + durableSeq + " (applied "
                                + replica.appliedSeq() + ")" + (failure != null ? ": " + failure
                                : " within " + PROMOTE_APPLY_TIMEOUT + "; the group stays fenced, retry the promote"));
            }
        }
        if (replica.drilling()) {
            LOG.warn("group {}: stopping the running drill before the promote; its clones are discarded", group);
            stopDrill(group);
        }
        long seq;
        long generationId;
        try {
            if (point == null) {
                generationId = replica.markPromoted(clock.epochNanos());
                seq = replica.appliedSeq();
            } else {
                seq = point.seq();
                generationId = replica.promoteTo(seq, clock.epochNanos());
            }
        } catch (IllegalArgumentException e) {
            throw new ApiException(409, "point_expired", "point " + pointId + " can no longer be recovered: "
                    + e.getMessage() + "; the group stays fenced, promote to a later point");
        }
        List<Export> exported = exportVolumes(replica);
        long promoteMillis = (System.nanoTime() - startNanos) / 1_000_000;
        LOG.warn("group {} promoted at point {} (seq {}) in {} ms: new generation {}, exports {}", group, pointId,
                seq, promoteMillis, generationId, exported);
        return new PromoteResult(group, "promoted", pointId, seq, generationId, promoteMillis, exported);
    }

    private GroupReplica configured(String group) {
        GroupReplica replica = replicas.get(group);
        if (replica == null) {
            throw ApiException.notFound("group \"" + group + "\" is not configured on this receiver");
        }
        return replica;
    }

    private static RecoveryPoints.Point recoverablePoint(GroupReplica replica, String pointId) {
        RecoveryPoints.Point point = replica.points().find(pointId);
        if (point == null) {
            throw new ApiException(404, "unknown_point", "group " + replica.group() + " has no recovery point \""
                    + pointId + "\"; GET /v1/groups/" + replica.group() + "/points lists them, or use \"latest\"");
        }
        if (point.seq() < replica.oldestRecoverableSeq()) {
            throw new ApiException(409, "point_expired", "point " + pointId + " (seq " + point.seq() + ") is older"
                    + " than the undo log reaches (seq " + replica.oldestRecoverableSeq() + ")");
        }
        return point;
    }

    /** What {@code POST /v1/groups/{g}/drill} answers. */
    public record DrillResult(String group, String state, String point, long seq, long drillStartMillis,
                              List<Export> exports) {
    }

    /** What {@code DELETE /v1/groups/{g}/drill} answers. */
    public record DrillStopResult(String group, String state, long scratchBytesDiscarded) {
    }

    /** Export name of a volume's drill clone. */
    public static String drillExportName(String volume) {
        return volume + DRILL_SUFFIX;
    }

    /**
     * Starts a drill of {@code group} at {@code pointId} (a retained point or "latest"): writable
     * copy-on-write clones of its volumes at that point, exported on the NBD listener as
     * {@code <volume>-drill}, while replication of the group goes on.
     *
     * @throws ApiException 404 unknown group or point, 409 {@code drill_running}, {@code promoted},
     *         {@code group_failed}, {@code no_volumes}, {@code no_nbd_listener} or {@code point_expired}
     */
    public synchronized DrillResult startDrill(String group, String pointId) throws IOException {
        long startNanos = System.nanoTime();
        GroupReplica replica = configured(group);
        if (replica.isPromoted()) {
            throw new ApiException(409, "promoted", "group " + group + " is promoted; its volumes are exported"
                    + " read-write already, a drill has nothing to test");
        }
        if (replica.drilling()) {
            throw new ApiException(409, "drill_running", "group " + group + " has a drill running already (at seq "
                    + replica.drillSeq() + "); stop it first with DELETE /v1/groups/" + group + "/drill");
        }
        if (replica.failure() != null) {
            throw new ApiException(409, "group_failed", "group " + group + " has failed: " + replica.failure());
        }
        if (nbd == null) {
            throw new ApiException(409, "no_nbd_listener", "receiver " + config.id() + " has no nbd.listen in"
                    + " receiver.yaml, so drill clones could not be exported; set it and restart");
        }
        if (replica.volumes().isEmpty()) {
            throw new ApiException(409, "no_volumes", "group " + group + " has never been replicated; there is"
                    + " nothing to drill");
        }
        RecoveryPoints.Point point = ReceiverApi.LATEST.equals(pointId) ? null : recoverablePoint(replica, pointId);
        long seq = point == null ? replica.appliedSeq() : point.seq();
        List<DrillVolume> clones;
        try {
            clones = replica.startDrill(seq, config.dataDir().resolve(DRILLS_DIR).resolve(group));
        } catch (IllegalArgumentException e) {
            throw new ApiException(409, "point_expired", e.getMessage());
        } catch (IllegalStateException e) {
            throw new ApiException(409, "drill_refused", e.getMessage());
        }
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
     * @throws ApiException 404 unknown group, 409 {@code no_drill}
     */
    public synchronized DrillStopResult stopDrill(String group) throws IOException {
        GroupReplica replica = configured(group);
        if (!replica.drilling()) {
            throw new ApiException(409, "no_drill", "group " + group + " has no drill running");
        }
        long scratch = replica.drillScratchBytes();
        for (VolumeInfo volume : replica.volumes()) {
            exports.remove(drillExportName(volume.name()));
        }
        replica.stopDrill();
        LOG.warn("group {}: drill stopped; {} bytes of scratch space discarded", group, scratch);
        return new DrillStopResult(group, replica.isPromoted() ? "promoted" : "replicating", scratch);
    }

    private List<Export> exportVolumes(GroupReplica replica) throws IOException {
        List<Export> exported = new ArrayList<>();
        for (VolumeInfo volume : replica.volumes()) {
            FileBlockDevice device = FileBlockDevice.openOrCreate(replica.replicaPath(volume.name()),
                    volume.sizeBytes());
            resources.add(device);
            exports.put(volume.name(), device);
            exported.add(new Export(volume.name(), exportUri(volume.name())));
        }
        return exported;
    }

    private List<String> exportsOf(GroupReplica replica) {
        List<String> uris = new ArrayList<>();
        for (VolumeInfo volume : replica.volumes()) {
            uris.add(exportUri(volume.name()));
        }
        return uris;
    }

    private String exportUri(String volume) {
        InetSocketAddress address = nbdAddress();
        return address == null ? null
                : "nbd://" + address.getAddress().getHostAddress() + ":" + address.getPort() + "/" + volume;
    }

    public ReceiverConfig config() {
        return config;
    }

    /** The bound replication address (the actual port when the config said 0). */
    public InetSocketAddress replicationAddress() {
        return replication.address();
    }

    /** The bound management API address. */
    public InetSocketAddress apiAddress() {
        return api.address();
    }

    /** The bound NBD address, or null when receiver.yaml sets no {@code nbd.listen}. */
    public InetSocketAddress nbdAddress() {
        return nbd == null ? null : nbd.tcpAddress();
    }

    /** {@code <dataDir>/api.token}: what {@code --token-file} names. */
    public Path apiTokenFile() {
        return config.dataDir().resolve(ApiToken.FILE_NAME);
    }

    /** The group's replica, or null if no agent owns a group of that name. */
    public GroupReplica group(String name) {
        return replicas.get(name);
    }

    /** The group's replication link (owner, connection, bytes received), or null. */
    public GroupLink link(String name) {
        return links.get(name);
    }

    /** Every group, in receiver.yaml order. */
    public List<String> groups() {
        return List.copyOf(replicas.keySet());
    }

    /** The NBD exports (empty until promote or drill adds a volume); served when nbd.listen is set. */
    public NbdExportRegistry exports() {
        return exports;
    }

    /**
     * Stops the NBD server, the API, the replication port (closing every session), then each
     * group (its journal is synced and the applier stops after its batch). Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> reverse = new ArrayList<>(resources);
        Collections.reverse(reverse);
        RuntimeException failure = null;
        for (AutoCloseable resource : reverse) {
            try {
                resource.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = new IllegalStateException("receiver " + config.id() + " did not stop cleanly: " + e, e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        resources.clear();
        if (failure != null) {
            throw failure;
        }
    }

    /** A {@link GroupReplica} as the sessions and the API see it. */
    private record ReplicaTarget(GroupReplica replica) implements GroupTarget {

        @Override
        public void attachVolumes(List<VolumeInfo> volumes) throws IOException {
            replica.attachVolumes(volumes);
        }

        @Override
        public List<VolumeInfo> volumes() {
            return replica.volumes();
        }

        @Override
        public Path replicaPath(String volume) {
            return replica.replicaPath(volume);
        }

        @Override
        public long generationId() {
            return replica.generationId();
        }

        @Override
        public long receivedSeq() {
            return replica.receivedSeq();
        }

        @Override
        public long durableSeq() {
            return replica.durableSeq();
        }

        @Override
        public long appliedSeq() {
            return replica.appliedSeq();
        }

        @Override
        public long lastDurableCaptureNanos() {
            return replica.lastDurableCaptureNanos();
        }

        @Override
        public long queuedAppendBytes() {
            return replica.queuedAppendBytes();
        }

        @Override
        public String failure() {
            return replica.failure();
        }

        @Override
        public void append(ByteBuf body, long firstSeq, long lastSeq, long lastCaptureNanos, LongConsumer onDurable) {
            replica.append(body, firstSeq, lastSeq, lastCaptureNanos, onDurable);
        }

        @Override
        public void whenDurable(LongConsumer onDurable) {
            replica.whenDurable(onDurable);
        }

        @Override
        public void bookmark(long seq, String label) {
            replica.points().bookmark(seq, label);
        }

        @Override
        public boolean drilling() {
            return replica.drilling();
        }

        @Override
        public long drillSeq() {
            return replica.drillSeq();
        }

        @Override
        public long oldestRecoverableSeq() {
            return replica.oldestRecoverableSeq();
        }

        @Override
        public long undoBytes() {
            return replica.undoBytes();
        }
    }
}
