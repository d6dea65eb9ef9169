package io.ferry.receiver.config;

import io.ferry.config.ConfigException;
import io.ferry.config.ConfigNode;
import io.ferry.config.Durations;
import io.ferry.config.HostPort;
import io.ferry.config.TlsFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The receiver's configuration (receiver.yaml), validated once by {@link #load} or {@link #parse}
 * and immutable afterwards: every path is absolute, every name checked, every default applied.
 * There is no plaintext mode: {@code tls} is required.
 *
 * @param id the receiver's name (the CN of its certificate, by convention)
 * @param dataDir journal, replicas, undo log, recovery points and api.token live here
 * @param listen the replication port (TLS 1.3, mutual authentication)
 * @param nbdListen where promoted volumes and drill clones are exported over NBD; null for none
 * @param apiListen the management API address
 * @param tls the receiver's TLS identity and the CA its agents' certificates must chain to
 * @param retention how long recovery points are kept
 * @param pointInterval at most one automatic recovery point per interval
 * @param undoMaxBytes bound on each group's undo log ({@code undo.maxBytes}); past it the oldest
 *        points are dropped, replication goes on
 * @param agents the agents allowed to connect, each with the groups it owns, in file order
 */
public record ReceiverConfig(String id, Path dataDir, HostPort listen, HostPort nbdListen, HostPort apiListen,
                             TlsFiles tls, Duration retention, Duration pointInterval, long undoMaxBytes,
                             List<AllowedAgent> agents) {

    public static final HostPort DEFAULT_API_LISTEN = new HostPort("127.0.0.1", 9401);
    public static final Duration DEFAULT_RETENTION = Duration.ofHours(1);
    public static final Duration DEFAULT_POINT_INTERVAL = Duration.ofSeconds(5);
    public static final long DEFAULT_UNDO_MAX_BYTES = 64L << 30;

    private static final String SOURCE_FOR_TEXT = "receiver.yaml";

    public ReceiverConfig {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(apiListen, "apiListen");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(retention, "retention");
        Objects.requireNonNull(pointInterval, "pointInterval");
        agents = List.copyOf(agents);
    }

    /** The agent entry with this id, or null if the agent is not allowed. */
    public AllowedAgent agent(String agentId) {
        for (AllowedAgent agent : agents) {
            if (agent.id().equals(agentId)) {
                return agent;
            }
        }
        return null;
    }

    /** The id of the agent that owns {@code group}, or null if no agent lists it. */
    public String ownerOf(String group) {
        for (AllowedAgent agent : agents) {
            if (agent.owns(group)) {
                return agent.id();
            }
        }
        return null;
    }

    /** Every group some agent owns, in file order. */
    public List<String> groups() {
        List<String> groups = new ArrayList<>();
        for (AllowedAgent agent : agents) {
            groups.addAll(agent.groups());
        }
        return List.copyOf(groups);
    }

    /**
     * Reads and validates a receiver.yaml; relative paths in it are resolved against the file's
     * directory. Also checks that the TLS files exist and are readable.
     *
     * @throws ConfigException naming the file, the key and what is wrong
     */
    public static ReceiverConfig load(Path yamlFile) {
        return parse(ConfigNode.load(yamlFile), yamlFile.toAbsolutePath().getParent());
    }

    /**
     * Validates receiver.yaml text exactly like {@link #load}; relative paths are resolved against
     * {@code baseDir}.
     *
     * @throws ConfigException naming the key and what is wrong
     */
    public static ReceiverConfig parse(String yaml, Path baseDir) {
        return parse(ConfigNode.parse(yaml, SOURCE_FOR_TEXT), baseDir);
    }

    private static ReceiverConfig parse(ConfigNode root, Path baseDir) {
        root.rejectUnknownKeys("id", "dataDir", "listen", "nbd", "api", "tls", "retention", "pointInterval",
                "undo", "agents");
        String id = root.requireName("id");

        Path dataDir = root.requirePath("dataDir", baseDir);
        if (Files.exists(dataDir) && !Files.isDirectory(dataDir)) {
            throw root.error("dataDir", dataDir + " exists but is not a directory");
        }

        Map<String, String> ports = new HashMap<>();
        HostPort listen = root.requireHostPort("listen");
        claimAddress(root, "listen", listen, ports);

        HostPort nbdListen = null;
        ConfigNode nbdNode = root.optionalChild("nbd").orElse(null);
        if (nbdNode != null) {
            nbdNode.rejectUnknownKeys("listen");
            nbdListen = nbdNode.optionalHostPort("listen").orElse(null);
            if (nbdListen != null) {
                claimAddress(nbdNode, "listen", nbdListen, ports);
            }
        }

        HostPort apiListen = DEFAULT_API_LISTEN;
        ConfigNode apiNode = root.optionalChild("api").orElse(null);
        if (apiNode != null) {
            apiNode.rejectUnknownKeys("listen");
            apiListen = apiNode.optionalHostPort("listen").orElse(DEFAULT_API_LISTEN);
            if (apiNode.has("listen")) {
                claimAddress(apiNode, "listen", apiListen, ports);
            }
        }
        if (apiNode == null || !apiNode.has("listen")) {
            claimAddress(root, "api", apiListen, ports);
        }

        if (!root.has("tls")) {
            throw root.error("tls", "is required but missing: the replication port is TLS 1.3 with client"
                    + " certificates only (no plaintext mode); set tls: { ca: ..., cert: ..., key: ... }"
                    + " (make them with 'ferry cert')");
        }
        ConfigNode tlsNode = root.requireChild("tls");
        tlsNode.rejectUnknownKeys("ca", "cert", "key");
        TlsFiles tls = new TlsFiles(
                readableFile(tlsNode, "ca", baseDir),
                readableFile(tlsNode, "cert", baseDir),
                readableFile(tlsNode, "key", baseDir));

        Duration retention = root.optionalDuration("retention", DEFAULT_RETENTION);
        if (retention.isZero()) {
            throw root.error("retention", "0; expected a positive duration (e.g. 1h) for the point-in-time window");
        }
        Duration pointInterval = root.optionalDuration("pointInterval", DEFAULT_POINT_INTERVAL);
        if (pointInterval.isZero()) {
            throw root.error("pointInterval", "0; expected a positive duration (e.g. 5s)");
        }
        if (pointInterval.compareTo(retention) > 0) {
            throw root.error("pointInterval", Durations.format(pointInterval)
                    + " is longer than retention (" + Durations.format(retention)
                    + "), so no automatic point would ever be kept; make it shorter than retention");
        }

        List<ConfigNode> agentNodes = root.list("agents");
        if (agentNodes.isEmpty()) {
            throw root.error("agents", "the list is empty; expected at least one agent (id and groups)");
        }
        List<AllowedAgent> agents = new ArrayList<>();
        Map<String, String> agentPaths = new HashMap<>();
        Map<String, String> groupOwners = new HashMap<>();
        for (ConfigNode agentNode : agentNodes) {
            agentNode.rejectUnknownKeys("id", "groups");
            String agentId = agentNode.requireName("id");
            String earlier = agentPaths.putIfAbsent(agentId, agentNode.path());
            if (earlier != null) {
                throw agentNode.error("id", "agent \"" + agentId + "\" is already listed at " + earlier
                        + "; list each agent once with all its groups");
            }
            List<ConfigNode> groupNodes = agentNode.list("groups");
            if (groupNodes.isEmpty()) {
                throw agentNode.error("groups", "the list is empty; expected the consistency groups agent \""
                        + agentId + "\" replicates (e.g. groups: [db])");
            }
            List<String> groups = new ArrayList<>();
            for (ConfigNode groupNode : groupNodes) {
                String group = groupNode.asName();
                String owner = groupOwners.putIfAbsent(group, agentId);
                if (owner != null) {
                    String why = owner.equals(agentId)
                            ? "group \"" + group + "\" is listed twice for agent \"" + agentId + "\""
                            : "group \"" + group + "\" is already owned by agent \"" + owner
                                    + "\"; a group is written by exactly one agent";
                    throw groupNode.error(why);
                }
                groups.add(group);
            }
            agents.add(new AllowedAgent(agentId, groups));
        }
        long undoMaxBytes = DEFAULT_UNDO_MAX_BYTES;
        ConfigNode undoNode = root.optionalChild("undo").orElse(null);
        if (undoNode != null) {
            undoNode.rejectUnknownKeys("maxBytes");
            undoMaxBytes = undoNode.optionalBytes("maxBytes", DEFAULT_UNDO_MAX_BYTES);
            if (undoMaxBytes < (64L << 20)) {
                throw undoNode.error("maxBytes", undoMaxBytes + " bytes; expected at least 64MiB (one undo segment)"
                        + " per group, e.g. 20GiB");
            }
        }
        return new ReceiverConfig(id, dataDir, listen, nbdListen, apiListen, tls, retention, pointInterval,
                undoMaxBytes, agents);
    }

    /** Two listeners on the same fixed address would fail at bind time; say which keys collide now. */
    private static void claimAddress(ConfigNode node, String key, HostPort address, Map<String, String> claimed) {
        String path = node.path().isEmpty() ? key : node.path() + "." + key;
        if (address.port() == 0) {
            return;
        }
        String earlier = claimed.putIfAbsent(address.toString(), path);
        if (earlier != null) {
            throw node.error(key, address + " is already used by " + earlier
                    + "; the replication, NBD and API listeners need different ports");
        }
    }

    private static Path readableFile(ConfigNode node, String key, Path baseDir) {
        Path path = node.requirePath(key, baseDir);
        if (!Files.exists(path)) {
            throw node.error(key, path + " does not exist");
        }
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw node.error(key, path + " is not a readable file");
        }
        return path;
    }
}
