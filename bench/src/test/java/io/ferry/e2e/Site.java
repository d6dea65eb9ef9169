package io.ferry.e2e;

import io.ferry.agent.AgentNode;
import io.ferry.agent.config.AgentConfig;
import io.ferry.receiver.ReceiverNode;
import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.tls.Certificates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A protected pair for end-to-end tests: a CA, certificates, and the configuration of a receiver
 * "dr-1" and an agent "host-a" with one consistency group "db" of two volumes, all in one temp
 * dir. Daemons are started by the tests (in-process or as child JVMs).
 */
final class Site {
    static final long VOLUME_BYTES = 64L << 20;

    final Path dir;
    final Path certs;

    Site(Path dir) throws IOException {
        this.dir = dir;
        this.certs = Files.createDirectories(dir.resolve("certs"));
        Certificates.createCa(certs);
        Certificates.issue(certs, "host-a", certs);
        Certificates.issue(certs, "dr-1", certs);
        Files.createDirectories(dir.resolve("volumes"));
    }

    String receiverYaml(int replicationPort) {
        return """
                id: dr-1
                dataDir: %1$s/receiver
                listen: 127.0.0.1:%2$d
                nbd: { listen: 127.0.0.1:0 }
                api: { listen: 127.0.0.1:0 }
                tls: { ca: certs/ca.pem, cert: certs/dr-1.pem, key: certs/dr-1.key }
                agents:
                  - id: host-a
                    groups: [db]
                """.formatted(dir, replicationPort);
    }

    ReceiverConfig receiverConfig(int replicationPort) {
        return ReceiverConfig.parse(receiverYaml(replicationPort), dir);
    }

    String agentYaml(int receiverPort, String rpo) {
        return """
                id: host-a
                dataDir: %1$s/agent
                nbd:
                  listen: 127.0.0.1:0
                  socket: %1$s/agent.sock
                api: { listen: 127.0.0.1:0 }
                receiver: 127.0.0.1:%2$d
                tls: { ca: certs/ca.pem, cert: certs/host-a.pem, key: certs/host-a.key }
                groups:
                  - name: db
                    rpo: %3$s
                    volumes:
                      - { name: db-data, path: volumes/db-data.img, size: %4$d }
                      - { name: db-log, path: volumes/db-log.img, size: %4$d }
                """.formatted(dir, receiverPort, rpo, VOLUME_BYTES);
    }

    AgentConfig agentConfig(int receiverPort, String rpo) {
        return AgentConfig.parse(agentYaml(receiverPort, rpo), dir);
    }

    Path primary(String volume) {
        return dir.resolve("volumes").resolve(volume + ".img");
    }

    Path replica(String volume) {
        return dir.resolve("receiver/replicas/db").resolve(volume + ".img");
    }

    Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    /** Asserts that every replica is byte for byte its primary. */
    void assertReplicasEqualPrimaries() throws IOException {
        for (String volume : new String[] {"db-data", "db-log"}) {
            byte[] primary = Files.readAllBytes(primary(volume));
            byte[] replica = Files.readAllBytes(replica(volume));
            org.assertj.core.api.Assertions.assertThat(java.util.Arrays.mismatch(primary, replica))
                    .as("first byte where replica %s differs", volume).isEqualTo(-1);
        }
    }

    /** Starts {@code ferry receiver --config config} as a child JVM (a daemon a test can kill -9). */
    static io.ferry.testing.ChildJvm startReceiverJvm(Path config, java.util.List<String> jvmOptions) throws IOException {
        return io.ferry.testing.ChildJvm.start(config.resolveSibling("receiver-" + System.nanoTime() + ".log"),
                jvmOptions, io.ferry.receiver.ReceiverMain.class.getName(), "--config", config.toString());
    }

    /** A client of the receiver's API on {@code port} once its token file exists (it does from the first start on). */
    io.ferry.api.ApiClient receiverApi(int port) {
        Path token = dir.resolve("receiver").resolve("api.token");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(120)).until(() -> Files.exists(token));
        return new io.ferry.api.ApiClient("127.0.0.1:" + port, io.ferry.api.ApiClient.readTokenFile(token));
    }

    /** A client of the agent's API on {@code port} once its token file exists. */
    io.ferry.api.ApiClient agentApi(int port) {
        Path token = dir.resolve("agent").resolve(io.ferry.api.ApiToken.FILE_NAME);
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(120)).until(() -> Files.exists(token));
        return new io.ferry.api.ApiClient("127.0.0.1:" + port, io.ferry.api.ApiClient.readTokenFile(token));
    }

    /** Group "db" in the agent's status. */
    static com.fasterxml.jackson.databind.JsonNode agentGroup(io.ferry.api.ApiClient api) {
        for (com.fasterxml.jackson.databind.JsonNode g : api.get("/v1/status").get("groups")) {
            if ("db".equals(g.get("name").asText())) {
                return g;
            }
        }
        throw new AssertionError("no group db in the agent's status");
    }

    /**
     * Asserts that {@code result} succeeded; when it did not, the failure carries the last lines of
     * each daemon's log (a child JVM's log is in the temp dir, which is gone after the test).
     */
    static void assertSucceeded(io.ferry.testing.Cmd.Result result, io.ferry.testing.ChildJvm... daemons) {
        try {
            result.assertSuccess();
        } catch (AssertionError e) {
            StringBuilder logs = new StringBuilder(e.getMessage());
            for (io.ferry.testing.ChildJvm daemon : daemons) {
                logs.append("\n--- last lines of ").append(daemon.log()).append(":\n");
                try {
                    java.util.List<String> lines = Files.readAllLines(daemon.log());
                    lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(l -> logs.append(l).append('\n'));
                } catch (IOException | RuntimeException unreadable) {
                    logs.append("(unreadable: ").append(unreadable).append(")\n");
                }
            }
            throw new AssertionError(logs.toString(), e);
        }
    }

    /** A free TCP port on loopback (for a daemon that must keep its port across a restart). */
    static int freePort() throws IOException {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** One fio generation over the first 16 MiB of {@code uri}: written with its pattern, or verified against it. */
    static io.ferry.testing.Cmd.Result fioGeneration(String uri, String pattern, boolean verifyOnly) {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("fio", "--name=gen",
                "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=16m",
                "--offset=0", "--randseed=4242", "--verify=pattern", "--verify_pattern=" + pattern + "%o",
                "--verify_state_save=0"));
        command.add(verifyOnly ? "--verify_only=1" : "--do_verify=0");
        return io.ferry.testing.Cmd.run(300, command);
    }

    static AgentNode agent(AgentConfig config) throws IOException {
        return AgentNode.launch(config);
    }

    static ReceiverNode receiver(ReceiverConfig config) throws Exception {
        return ReceiverNode.launch(config);
    }
}
