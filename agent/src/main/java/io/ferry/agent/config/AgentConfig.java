package io.ferry.agent.config;

import io.ferry.config.ConfigException;
import io.ferry.config.ConfigNode;
import io.ferry.config.HostPort;
import io.ferry.config.Sizes;
import io.ferry.config.TlsFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The agent's configuration (agent.yaml), validated once by {@link #load} or {@link #parse} and
 * immutable afterwards: every path is absolute, every name checked, every default applied.
 *
 * @param id the agent's name; must equal the CN of its certificate
 * @param dataDir journal, activity log, state and api.token live here
 * @param nbd where NBD clients connect
 * @param apiListen the management API address
 * @param receiver where deltas are shipped; null when the agent only captures
 * @param tls the agent's TLS identity; null when not configured
 * @param journalMaxBytes the journal size at which a group switches to a dirty-region bitmap
 * @param groups the consistency groups, in file order
 * @param syncMaxRateBytes the data bytes per second a sync may read and send ({@code sync.maxRate}); 0: no bound
 */
public record AgentConfig(String id, Path dataDir, NbdSettings nbd, HostPort apiListen, HostPort receiver,
                          TlsFiles tls, long journalMaxBytes, List<GroupConfig> groups, long syncMaxRateBytes) {

    public static final HostPort DEFAULT_API_LISTEN = new HostPort("127.0.0.1", 9400);
    public static final long DEFAULT_JOURNAL_MAX_BYTES = 8L << 30;
    public static final Duration DEFAULT_RPO = Duration.ofSeconds(30);

    private static final String SOURCE_FOR_TEXT = "agent.yaml";

    public AgentConfig {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(nbd, "nbd");
        Objects.requireNonNull(apiListen, "apiListen");
        if (journalMaxBytes <= 0) {
            throw new IllegalArgumentException("journalMaxBytes must be positive: " + journalMaxBytes);
        }
        groups = List.copyOf(groups);
        if (syncMaxRateBytes < 0) {
            throw new IllegalArgumentException("syncMaxRateBytes must be >= 0: " + syncMaxRateBytes);
        }
    }

    /** No bound on a sync's rate. */
    public AgentConfig(String id, Path dataDir, NbdSettings nbd, HostPort apiListen, HostPort receiver,
                       TlsFiles tls, long journalMaxBytes, List<GroupConfig> groups) {
        this(id, dataDir, nbd, apiListen, receiver, tls, journalMaxBytes, groups, 0);
    }

    /** The group called {@code name}, or null. */
    public GroupConfig group(String name) {
        for (GroupConfig group : groups) {
            if (group.name().equals(name)) {
                return group;
            }
        }
        return null;
    }

    /**
     * Reads and validates an agent.yaml; relative paths in it are resolved against the file's
     * directory. Also checks the file system: volume files and their directories, TLS files.
     *
     * @throws ConfigException naming the file, the key and what is wrong
     */
    public static AgentConfig load(Path yamlFile) {
        return parse(ConfigNode.load(yamlFile), yamlFile.toAbsolutePath().getParent());
    }

    /**
     * Validates agent.yaml text exactly like {@link #load}; relative paths are resolved against
     * {@code baseDir}.
     *
     * @throws ConfigException naming the key and what is wrong
     */
    public static AgentConfig parse(String yaml, Path baseDir) {
        return parse(ConfigNode.parse(yaml, SOURCE_FOR_TEXT), baseDir);
    }

    private static AgentConfig parse(ConfigNode root, Path baseDir) {
        root.rejectUnknownKeys("id", "dataDir", "nbd", "api", "receiver", "tls", "journal", "sync", "groups");
        String id = root.requireName("id");

        Path dataDir = root.requirePath("dataDir", baseDir);
        if (Files.exists(dataDir) && !Files.isDirectory(dataDir)) {
            throw root.error("dataDir", dataDir + " exists but is not a directory");
        }

        ConfigNode nbdNode = root.requireChild("nbd");
        nbdNode.rejectUnknownKeys("listen", "socket");
        HostPort nbdListen = nbdNode.optionalHostPort("listen").orElse(null);
        Path nbdSocket = nbdNode.optionalPath("socket", baseDir).orElse(null);
        if (nbdListen == null && nbdSocket == null) {
            throw nbdNode.error("needs listen (HOST:PORT for NBD over TCP), socket (a Unix socket path) or both");
        }

        HostPort apiListen = DEFAULT_API_LISTEN;
        ConfigNode apiNode = root.optionalChild("api").orElse(null);
        if (apiNode != null) {
            apiNode.rejectUnknownKeys("listen");
            apiListen = apiNode.optionalHostPort("listen").orElse(DEFAULT_API_LISTEN);
        }

        HostPort receiver = root.optionalHostPort("receiver").orElse(null);

        TlsFiles tls = null;
        ConfigNode tlsNode = root.optionalChild("tls").orElse(null);
        if (tlsNode != null) {
            tlsNode.rejectUnknownKeys("ca", "cert", "key");
            tls = new TlsFiles(
                    readableFile(tlsNode, "ca", baseDir),
                    readableFile(tlsNode, "cert", baseDir),
                    readableFile(tlsNode, "key", baseDir));
        }

        long journalMaxBytes = DEFAULT_JOURNAL_MAX_BYTES;
        ConfigNode journalNode = root.optionalChild("journal").orElse(null);
        if (journalNode != null) {
            journalNode.rejectUnknownKeys("maxBytes");
            journalMaxBytes = journalNode.optionalBytes("maxBytes", DEFAULT_JOURNAL_MAX_BYTES);
            if (journalMaxBytes <= 0) {
                throw journalNode.error("maxBytes", "0 bytes; expected a positive size (e.g. 8GiB)");
            }
        }

        long syncMaxRate = 0;
        ConfigNode syncNode = root.optionalChild("sync").orElse(null);
        if (syncNode != null && syncNode.has("maxRate")) {
            syncNode.rejectUnknownKeys("maxRate");
            syncMaxRate = syncNode.requireBytes("maxRate");
            if (syncMaxRate <= 0) {
                throw syncNode.error("maxRate", "0 bytes per second; expected a positive rate per second (e.g."
                        + " 200MiB), or no maxRate for no bound");
            }
        } else if (syncNode != null) {
            syncNode.rejectUnknownKeys("maxRate");
        }

        List<ConfigNode> groupNodes = root.list("groups");
        if (groupNodes.isEmpty()) {
            throw root.error("groups", "the list is empty; expected at least one consistency group");
        }
        List<GroupConfig> groups = new ArrayList<>();
        Map<String, String> groupPaths = new HashMap<>();
        Map<String, String> exportPaths = new HashMap<>();
        Map<Path, String> filePaths = new HashMap<>();
        for (ConfigNode groupNode : groupNodes) {
            groupNode.rejectUnknownKeys("name", "rpo", "volumes");
            String name = groupNode.requireName("name");
            String earlier = groupPaths.putIfAbsent(name, groupNode.path());
            if (earlier != null) {
                throw groupNode.error("name", "group \"" + name + "\" is already defined at " + earlier
                        + "; group names must be unique");
            }
            Duration rpo = groupNode.optionalDuration("rpo", DEFAULT_RPO);
            List<ConfigNode> volumeNodes = groupNode.list("volumes");
            if (volumeNodes.isEmpty()) {
                throw groupNode.error("volumes", "the list is empty; expected at least one volume");
            }
            List<VolumeConfig> volumes = new ArrayList<>();
            for (ConfigNode volumeNode : volumeNodes) {
                volumes.add(volume(volumeNode, baseDir, exportPaths, filePaths));
            }
            groups.add(new GroupConfig(name, rpo, volumes));
        }
        return new AgentConfig(id, dataDir, new NbdSettings(nbdListen, nbdSocket), apiListen, receiver, tls,
                journalMaxBytes, groups, syncMaxRate);
    }

    private static VolumeConfig volume(ConfigNode node, Path baseDir, Map<String, String> exportPaths,
                                       Map<Path, String> filePaths) {
        node.rejectUnknownKeys("name", "path", "size");
        String name = node.requireName("name");
        String earlier = exportPaths.putIfAbsent(name, node.path());
        if (earlier != null) {
            throw node.error("name", "export name \"" + name + "\" is already used by " + earlier
                    + "; volume names must be unique across all groups");
        }
        Path path = node.requirePath("path", baseDir);
        earlier = filePaths.putIfAbsent(path, node.path());
        if (earlier != null) {
            throw node.error("path", path + " is already the file of " + earlier
                    + "; each volume needs its own file");
        }
        long sizeBytes = node.requireBytes("size");
        if (sizeBytes <= 0) {
            throw node.error("size", "0 bytes; expected a positive size that is a multiple of 512 (e.g. 10GiB)");
        }
        if (sizeBytes % 512 != 0) {
            throw node.error("size", sizeBytes + " bytes is not a multiple of 512 (the sector size)");
        }
        checkVolumeFile(node, path, sizeBytes);
        return new VolumeConfig(name, path, sizeBytes);
    }

    /** A volume file must be a readable and writable regular file of the configured size, or creatable. */
    private static void checkVolumeFile(ConfigNode node, Path path, long sizeBytes) {
        if (Files.exists(path)) {
            if (!Files.isRegularFile(path)) {
                throw node.error("path", "unreadable path: " + path + " is not a regular file");
            }
            if (!Files.isReadable(path) || !Files.isWritable(path)) {
                throw node.error("path", "unreadable path: " + path + " is not readable and writable by this user");
            }
            long actualBytes;
            try {
                actualBytes = Files.size(path);
            } catch (IOException e) {
                throw node.error("path", "unreadable path: cannot read the size of " + path + ": " + e);
            }
            if (actualBytes != sizeBytes) {
                throw node.error("size", Sizes.format(sizeBytes) + " (" + sizeBytes + " bytes) but " + path
                        + " is " + actualBytes + " bytes; set size to match the existing file or use another path");
            }
            return;
        }
        Path parent = path.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw node.error("path", "unreadable path: directory " + parent + " does not exist, so " + path
                    + " cannot be created; create the directory or fix the path");
        }
        if (!Files.isWritable(parent)) {
            throw node.error("path", "unreadable path: " + path + " does not exist and directory " + parent
                    + " is not writable, so it cannot be created");
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
