package io.ferry.agent;

import io.ferry.agent.api.AgentApi;
import io.ferry.agent.api.AgentMetrics;
import io.ferry.agent.config.AgentConfig;
import io.ferry.capture.ship.ShippedGroup;
import io.ferry.capture.state.Generation;
import io.ferry.capture.bitmap.JournalBudget;
import io.ferry.capture.sync.GroupSync;
import io.ferry.capture.ship.Shipper;
import io.ferry.api.ApiServer;
import io.ferry.daemon.Startup;
import io.ferry.metrics.MetricsRegistry;
import io.ferry.api.ApiToken;
import io.ferry.config.ConfigException;
import io.ferry.tls.TlsContexts;
import io.ferry.wire.VolumeInfo;
import io.netty.handler.ssl.SslContext;
import io.ferry.agent.config.GroupConfig;
import io.ferry.agent.config.VolumeConfig;
import io.ferry.capture.CaptureGroup;
import io.ferry.capture.GroupCapture;
import io.ferry.capture.journal.ChronicleJournal;
import io.ferry.capture.journal.Journal;
import io.ferry.capture.nbd.CapturedVolume;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.volume.VolumeFile;
import io.ferry.nbd.NbdExportRegistry;
import io.ferry.nbd.NbdServer;
import io.ferry.time.EpochNanoClock;
import io.ferry.daemon.PrivateFiles;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent daemon as an object (Aeron's MediaDriver shape): {@link #launch} opens every
 * group's journal and volumes, starts one write pipeline per consistency group and the NBD
 * server in front of them; {@link #close} stops them in reverse order, answering everything
 * already accepted. {@code main} only parses arguments; tests launch the same object
 * in-process.
 */
public final class AgentNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AgentNode.class);
    private static final int RING_SIZE = 4096;
    /** Largest NBD request; journal records are at most this big. */
    private static final int MAX_PAYLOAD_BYTES = 32 << 20;

    private final AgentConfig config;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Map<String, Group> groups = new LinkedHashMap<>();
    private final Map<String, CapturedVolume> exports = new LinkedHashMap<>();
    /** A delta closes at this many payload bytes (a single larger write forms its own delta). */
    private static final long MAX_DELTA_BYTES = 8L << 20;
    /** Bytes of deltas sent but not yet acknowledged durable, per group. */
    private static final long MAX_IN_FLIGHT_BYTES = 64L << 20;

    private final MetricsRegistry metrics = new MetricsRegistry();
    private JournalBudget budget;
    private NbdServer nbdServer;
    private Shipper shipper;
    private ApiServer apiServer;

    /** One consistency group's running parts. */
    public record Group(GroupConfig config, Journal journal, WritePipeline pipeline, List<VolumeFile> files,
            Generation.Identity identity) {
    }

    private AgentNode(AgentConfig config) {
        this.config = config;
    }

    /** Starts the agent; on any failure everything started so far is closed again. */
    public static AgentNode launch(AgentConfig config) throws IOException {
        return launch(config, EpochNanoClock.system());
    }

    public static AgentNode launch(AgentConfig config, EpochNanoClock clock) throws IOException {
        AgentNode node = new AgentNode(config);
        return Startup.startOrClose(node, () -> node.start(clock));
    }

    private void start(EpochNanoClock clock) throws IOException {
        PrivateFiles.directories(config.dataDir());
        budget = new JournalBudget(config.journalMaxBytes());
        for (GroupConfig groupConfig : config.groups()) {
            List<CaptureGroup.Volume> volumes = new ArrayList<>();
            for (VolumeConfig volume : groupConfig.volumes()) {
                volumes.add(new CaptureGroup.Volume(volume.name(), volume.path(), volume.sizeBytes()));
            }
            GroupCapture opened = GroupCapture.open(groupConfig.name(), config.dataDir(), volumes, budget,
                    new GroupCapture.Options(journalSegmentBytes(config.journalMaxBytes()), RING_SIZE,
                            config.receiver() == null, 0), clock);
            resources.add(opened);
            CaptureGroup capture = opened.capture();
            WritePipeline pipeline = capture.pipeline();
            Journal journal = capture.journal();
            Generation.Identity identity = opened.identity();
            pipeline.metrics(AgentMetrics.writeLatency(metrics, groupConfig.name()),
                    AgentMetrics.journalSync(metrics, groupConfig.name()));
            groups.put(groupConfig.name(), new Group(groupConfig, journal, pipeline, capture.files(), identity));
            for (CapturedVolume export : capture.exports()) {
                exports.put(export.name(), export);
            }
            LOG.info("group {}: {} volume(s), journal at seq {}", groupConfig.name(), capture.exports().size(),
                    journal.lastSeq());
        }
        InetSocketAddress tcp = config.nbd().listen() == null ? null : config.nbd().listen().toSocketAddress();
        NbdExportRegistry registry = new NbdExportRegistry();
        exports.forEach(registry::put);
        nbdServer = NbdServer.start(new NbdServer.Options(tcp, config.nbd().socket(), Runtime.getRuntime().availableProcessors(), MAX_PAYLOAD_BYTES), registry);
        resources.add(nbdServer);
        startShipper(clock);
        String token = ApiToken.loadOrCreate(config.dataDir());
        apiServer = ApiServer.start(config.apiListen().toSocketAddress(), token, new AgentApi(this).routes());
        resources.add(apiServer);
        LOG.info("agent {} serving NBD on {}{}", config.id(),
                nbdServer.tcpAddress() == null ? "-" : nbdServer.tcpAddress(),
                nbdServer.unixSocket() == null ? "" : " and " + nbdServer.unixSocket());
    }

    /**
     * Starts replication when a receiver is configured. The shipper starts after the NBD server
     * on purpose: shipping is asynchronous, capture never waits for the link (rpo 0s aside).
     */
    private void startShipper(EpochNanoClock clock) throws IOException {
        if (config.receiver() == null) {
            LOG.info("no receiver configured: capturing only");
            return;
        }
        if (config.tls() == null) {
            throw new ConfigException("agent.yaml", "tls", 0, "a receiver is configured but no 'tls' section: replication only runs over mutual TLS");
        }
        SslContext ssl = TlsContexts.client(config.tls());
        List<ShippedGroup> shipped = new ArrayList<>();
        for (Group group : groups.values()) {
            List<VolumeInfo> volumes = new ArrayList<>();
            for (VolumeConfig volume : group.config().volumes()) {
                volumes.add(new VolumeInfo(volume.name(), volume.sizeBytes()));
            }
            shipped.add(new ShippedGroup(group.config().name(), group.journal(), group.pipeline(), volumes,
                    group.identity().generationId(), group.config().rpo().toNanos(), MAX_DELTA_BYTES,
                    MAX_IN_FLIGHT_BYTES, new ShippedGroup.SyncSource(group.files(),
                    group.identity().journalCoversVolumes(), config.syncMaxRateBytes(), group.pipeline().dirtyMap(),
                    syncWindowBytes())));
        }
        shipper = Shipper.start(config.id(), config.receiver(), ssl, shipped, clock);
        resources.add(shipper);
        LOG.info("replicating {} group(s) to {} (TLS provider {})", shipped.size(), config.receiver(), TlsContexts.providerName());
    }

    /**
     * The journal's file size: a sixteenth of journal.maxBytes (1 MiB to 256 MiB), because the
     * journal frees space a whole file at a time and the file being written is never freed.
     */
    static long journalSegmentBytes(long maxBytes) {
        return Math.max(1L << 20, Math.min(ChronicleJournal.Options.defaults().segmentSizeBytes(), maxBytes / 16));
    }

    /**
     * Bytes of volume a sync reads ahead of the receiver's acknowledgements: a quarter of
     * journal.maxBytes at most, so a sync's own records never fill the journal.
     */
    private long syncWindowBytes() {
        return Math.max(GroupSync.REGION_BYTES, Math.min(GroupSync.WINDOW_BYTES, config.journalMaxBytes() / 4));
    }

    /** The replication shipper, or null when no receiver is configured. */
    public Shipper shipper() {
        return shipper;
    }

    /** Where the management API listens (the real port when the config asked for port 0). */
    public InetSocketAddress apiAddress() {
        return apiServer.address();
    }

    /** What {@code GET /metrics} shows; components record their latencies into it. */
    public MetricsRegistry metrics() {
        return metrics;
    }

    public AgentConfig config() {
        return config;
    }

    /** The address NBD clients connect to (the real port when the config asked for port 0). */
    public InetSocketAddress nbdAddress() {
        return nbdServer.tcpAddress();
    }

    public Path nbdSocket() {
        return nbdServer.unixSocket();
    }

    public Group group(String name) {
        return groups.get(name);
    }

    public Collection<Group> groups() {
        return groups.values();
    }

    /**
     * Stops the NBD server first (no new requests), then drains and syncs each pipeline, then
     * closes journals and files.
     */
    @Override
    public void close() {
        List<AutoCloseable> reversed = new ArrayList<>(resources);
        java.util.Collections.reverse(reversed);
        // The NBD server was started last; closing in reverse stops intake before the pipelines.
        for (AutoCloseable resource : reversed) {
            try {
                resource.close();
            } catch (Exception e) {
                LOG.warn("closing {}: {}", resource, e.toString());
            }
        }
        resources.clear();
    }
}
