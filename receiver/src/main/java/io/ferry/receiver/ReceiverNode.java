package io.ferry.receiver;

import io.ferry.api.ApiServer;
import io.ferry.daemon.Startup;
import io.ferry.api.ApiToken;
import io.ferry.nbd.NbdExportRegistry;
import io.ferry.nbd.NbdServer;
import io.ferry.receiver.api.ReceiverApi;
import io.ferry.receiver.api.ReceiverMetrics;
import io.ferry.metrics.MetricsRegistry;
import io.ferry.receiver.config.AllowedAgent;
import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.receiver.recovery.GroupRecovery;
import io.ferry.receiver.session.GroupLink;
import io.ferry.receiver.session.ReplicationServer;
import io.ferry.receiver.session.SessionSettings;
import io.ferry.replica.store.GroupReplica;
import io.ferry.replica.store.RecoveryPoints;
import io.ferry.time.EpochNanoClock;
import io.ferry.tls.TlsContexts;
import io.netty.handler.ssl.SslContext;
import io.ferry.daemon.PrivateFiles;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiver daemon as an object: {@link #launch} opens a {@link GroupReplica} for every group
 * an agent owns in receiver.yaml (replaying what is durable but not applied), then starts the
 * replication port (TLS 1.3, client certificates), the management API and, when
 * {@code nbd.listen} is set, an NBD server whose export registry is empty until promote and drill
 * fill it; promote and drill are {@link GroupRecovery}'s use cases, which the API calls.
 * {@link #close} stops them in reverse order. {@code ReceiverMain} only parses
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
    private GroupRecovery recovery;
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
        return Startup.startOrClose(node, () -> node.start(clock));
    }

    private void start(EpochNanoClock clock) throws IOException {
        PrivateFiles.directories(config.dataDir());
        String token = ApiToken.loadOrCreate(config.dataDir());
        SslContext sslContext = TlsContexts.server(config.tls());

        Path drills = config.dataDir().resolve(GroupRecovery.DRILLS_DIR);
        if (Files.exists(drills)) {
            LOG.warn("deleting drill scratch space left by a receiver that stopped during a drill ({}); drills do not"
                    + " survive a restart, start them again", drills);
            org.agrona.IoUtil.delete(drills.toFile(), false); // recursive; throws on a file it cannot delete
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
                GroupLink link = new GroupLink(group, agent.id(), replica);
                links.put(group, link);
            }
        }
        recovery = new GroupRecovery(config.id(), config.dataDir(), replicas, links, exports,
                config.nbdListen() != null, this::nbdAddress, clock);
        resources.add(recovery);
        for (GroupReplica replica : replicas.values()) {
            if (replica.isPromoted()) {
                links.get(replica.group()).fence();
                recovery.exportPromoted(replica);
                LOG.info("group {} is promoted (generation {}); its volumes are exported read-write", replica.group(),
                        replica.generationId());
            } else if (replica.failure() != null) {
                LOG.error("group {} has failed: {}", replica.group(), replica.failure());
            }
        }

        replication = ReplicationServer.start(config.listen().toSocketAddress(), sslContext, config.id(),
                config.agents(), links, SessionSettings.defaults());
        resources.add(replication);

        api = ApiServer.start(config.apiListen().toSocketAddress(), token,
                ReceiverApi.routes(config.id(), List.copyOf(links.values()), clock, metrics,
                        ReceiverApi.recovery(recovery, clock)));
        resources.add(api);

        if (config.nbdListen() != null) {
            nbd = NbdServer.start(NbdServer.Options.tcp(config.nbdListen().toSocketAddress()), exports);
            resources.add(nbd);
        }
        LOG.info("receiver {} is up: replication {}, API {}{}, groups {}", config.id(), replicationAddress(),
                apiAddress(), nbd == null ? "" : ", NBD " + nbdAddress(), replicas.keySet());
    }

    /** Export name of a volume's drill clone. */
    public static String drillExportName(String volume) {
        return GroupRecovery.drillExportName(volume);
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
}
