package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.ferry.agent.AgentNode;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiClientException;
import io.ferry.nbd.NbdClient;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import io.ferry.testing.ChildJvm;
import io.ferry.testing.Cmd;
import io.ferry.testing.Interop;
import io.ferry.testing.TcpProxy;
import io.ferry.tls.Certificates;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real daemons on loopback, talking TLS 1.3, checked with tools nobody here wrote. */
class ReplicationEndToEndTest {
    private static final Duration CATCH_UP = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void shouldReplicateTwoFioGenerationsOnTwoVolumesToIdenticalReplicas() throws Exception {
        Interop.requireTools("fio", "qemu-img");
        Site site = new Site(dir);
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0));
             AgentNode agent = Site.agent(site.agentConfig(receiver.replicationAddress().getPort(), "2s"))) {
            String port = String.valueOf(agent.nbdAddress().getPort());
            for (String generation : List.of("0x5eed0001", "0x5eed0002")) {
                for (String volume : List.of("db-data", "db-log")) {
                    fio("--uri=nbd://127.0.0.1:" + port + "/" + volume, generation, false).assertSuccess();
                }
            }
            awaitCaughtUp(agent, receiver);
            for (String volume : List.of("db-data", "db-log")) {
                Cmd.run(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", site.primary(volume).toString(),
                        site.replica(volume).toString()).assertSuccess();
                fio("--filename=" + site.replica(volume), "0x5eed0002", true).assertSuccess();
            }
        }
    }

    @Test
    void shouldCatchUpIdenticallyAfterTheReceiverIsKilledMidStream() throws Exception {
        Site site = new Site(dir);
        int port = Site.freePort();
        Path config = site.write("receiver.yaml", site.receiverYaml(port));
        ChildJvm first = ChildJvm.start(dir.resolve("receiver-1.log"), "io.ferry.receiver.ReceiverMain", "--config", config.toString());
        try (AgentNode agent = Site.agent(site.agentConfig(port, "1s"))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> agent.shipper().connected());
            Writer writer = Writer.start(agent, 4);
            await().atMost(Duration.ofSeconds(60)).until(() -> agent.shipper().group("db").ackedSeq() > 200);
            first.kill9();
            long ackedAtKill = agent.shipper().group("db").ackedSeq();
            try (ChildJvm second = ChildJvm.start(dir.resolve("receiver-2.log"), "io.ferry.receiver.ReceiverMain", "--config", config.toString())) {
                await().atMost(Duration.ofSeconds(60)).until(() -> agent.shipper().group("db").ackedSeq() > ackedAtKill + 200);
                writer.stop();
                second.kill9();
            }
            try (ReceiverNode receiver = Site.receiver(site.receiverConfig(port))) {
                assertThat(receiver.group("db").durableSeq()).as("durable seq survives kill -9").isGreaterThanOrEqualTo(ackedAtKill);
                awaitCaughtUp(agent, receiver);
                assertIdentical(site);
            }
        } finally {
            first.close();
        }
    }

    @Test
    void shouldCatchUpIdenticallyAfterTheAgentIsKilledAfterAFlush() throws Exception {
        Site site = new Site(dir);
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0))) {
            Path config = site.write("agent.yaml", site.agentYaml(receiver.replicationAddress().getPort(), "1s"));
            byte[] flushed = new byte[4 << 20];
            new Random(9).nextBytes(flushed);
            try (ChildJvm agent = ChildJvm.start(dir.resolve("agent.log"), "io.ferry.agent.AgentMain", "--config", config.toString())) {
                Path socket = dir.resolve("agent.sock");
                await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(socket) || !agent.isAlive());
                NbdClient client = NbdClient.connectUnix(socket, "db-data");
                try {
                    client.write(0, flushed, false);
                    client.flush();
                    for (int i = 0; i < 64; i++) {
                        client.write((8L << 20) + i * 65536L, new byte[65536], false);
                    }
                    agent.kill9();
                } finally {
                    closeQuietly(client);
                }
            }
            try (AgentNode agent = Site.agent(site.agentConfig(receiver.replicationAddress().getPort(), "1s"))) {
                awaitCaughtUp(agent, receiver);
                byte[] replica = new byte[flushed.length];
                try (var channel = java.nio.channels.FileChannel.open(site.replica("db-data"))) {
                    channel.read(java.nio.ByteBuffer.wrap(replica), 0);
                }
                assertThat(replica).as("every write answered before the flush reached the replica").isEqualTo(flushed);
                assertIdentical(site);
            }
        }
    }

    @Test
    void shouldCatchUpIdenticallyAcrossCutConnections() throws Exception {
        Site site = new Site(dir);
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0));
             TcpProxy proxy = new TcpProxy(receiver.replicationAddress());
             AgentNode agent = Site.agent(site.agentConfig(proxy.address().getPort(), "1s"))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> agent.shipper().connected());
            Writer writer = Writer.start(agent, 2);
            for (int cut = 0; cut < 3; cut++) {
                long before = agent.shipper().group("db").ackedSeq();
                await().atMost(Duration.ofSeconds(60)).until(() -> agent.shipper().group("db").ackedSeq() > before + 50);
                proxy.cut();
            }
            proxy.block(true);
            Thread.sleep(1500);
            assertThat(agent.shipper().connected()).isFalse();
            proxy.block(false);
            writer.stop();
            awaitCaughtUp(agent, receiver);
            assertThat(proxy.connections()).isGreaterThan(3);
            assertIdentical(site);
        }
    }

    @Test
    void shouldHaveEveryWriteDurableAtTheReceiverWhenFioReturnsInSynchronousMode() throws Exception {
        Interop.requireTools("fio");
        Site site = new Site(dir);
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0));
             AgentNode agent = Site.agent(site.agentConfig(receiver.replicationAddress().getPort(), "0s"))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> agent.shipper().connected());
            fio("--uri=nbd://127.0.0.1:" + agent.nbdAddress().getPort() + "/db-data", "0x5eed0003", false).assertSuccess();
            long captured = agent.group("db").pipeline().capturedSeq();
            assertThat(captured).isGreaterThan(1000);
            assertThat(receiver.group("db").durableSeq()).as("durable at the receiver when fio returned").isEqualTo(captured);
        }
    }

    @Test
    void shouldRefuseAForeignCertificateAnUnknownAgentAnUnownedGroupGarbageAndTokenlessCallsAndKeepServing() throws Exception {
        Site site = new Site(dir);
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0))) {
            int port = receiver.replicationAddress().getPort();

            // Garbage and a plaintext client on the TLS port.
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                OutputStream out = socket.getOutputStream();
                out.write("GET / HTTP/1.0\r\n\r\n garbage garbage".getBytes());
                out.flush();
                assertThat(socket.getInputStream().read(new byte[1024])).isNotZero();
            } catch (IOException expected) {
                // closed by the receiver: fine
            }

            // A certificate from another CA.
            Path foreign = Files.createDirectories(dir.resolve("foreign"));
            Certificates.createCa(foreign);
            Certificates.issue(foreign, "host-a", foreign);
            String foreignYaml = site.agentYaml(port, "1s").replace("dataDir: " + dir + "/agent", "dataDir: " + dir + "/agent-foreign")
                    .replace("certs/host-a", "foreign/host-a").replace("certs/ca.pem", "foreign/ca.pem")
                    .replace("127.0.0.1:0\n  socket: " + dir + "/agent.sock", "127.0.0.1:0\n  socket: " + dir + "/foreign.sock");
            try (AgentNode agent = AgentNode.launch(io.ferry.agent.config.AgentConfig.parse(foreignYaml, dir))) {
                await().atMost(Duration.ofSeconds(30)).until(() -> agent.shipper().linkProblem() != null
                        && agent.shipper().linkProblem().contains("receiver"));
                assertThat(agent.shipper().connected()).isFalse();
            }

            // A valid certificate whose agent id is not in receiver.yaml.
            Certificates.issue(site.certs, "host-b", site.certs);
            String strangerYaml = site.agentYaml(port, "1s").replace("id: host-a", "id: host-b")
                    .replace("certs/host-a", "certs/host-b").replace("/agent\n", "/agent-b\n")
                    .replace(dir + "/agent.sock", dir + "/b.sock").replace("volumes/db-", "volumes/b-");
            try (AgentNode agent = AgentNode.launch(io.ferry.agent.config.AgentConfig.parse(strangerYaml, dir))) {
                await().atMost(Duration.ofSeconds(30)).until(() -> String.valueOf(agent.shipper().linkProblem()).contains("UNKNOWN_AGENT"));
            }

            // The right agent sending a group it does not own.
            String unownedYaml = site.agentYaml(port, "1s").replace("name: db\n", "name: other\n")
                    .replace("/agent\n", "/agent-other\n").replace(dir + "/agent.sock", dir + "/o.sock")
                    .replace("volumes/db-", "volumes/o-");
            try (AgentNode agent = AgentNode.launch(io.ferry.agent.config.AgentConfig.parse(unownedYaml, dir))) {
                await().atMost(Duration.ofSeconds(30)).until(() -> String.valueOf(agent.shipper().linkProblem()).contains("GROUP_NOT_ALLOWED"));
            }
            assertThat(receiver.group("db").durableSeq()).isZero();

            // The API without the token.
            String api = "127.0.0.1:" + receiver.apiAddress().getPort();
            assertThatThrownBy(() -> new ApiClient(api, "not-the-token").get("/v1/status"))
                    .isInstanceOf(ApiClientException.class)
                    .satisfies(e -> assertThat(((ApiClientException) e).status()).isEqualTo(401));

            // After all that, the rightful agent still replicates.
            try (AgentNode agent = Site.agent(site.agentConfig(port, "1s"));
                 NbdClient client = NbdClient.connect(agent.nbdAddress(), "db-log")) {
                byte[] data = new byte[1 << 20];
                new Random(3).nextBytes(data);
                client.write(0, data, true);
                awaitCaughtUp(agent, receiver);
                assertIdentical(site);
            }
        }
    }

    // ---------------------------------------------------------------------------------------

    private static void awaitCaughtUp(AgentNode agent, ReceiverNode receiver) {
        GroupReplica replica = receiver.group("db");
        await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(50)).until(() -> {
            long captured = agent.group("db").pipeline().capturedSeq();
            return replica.appliedSeq() == captured && agent.shipper().group("db").ackedSeq() == captured;
        });
    }

    private static void assertIdentical(Site site) throws IOException {
        for (String volume : List.of("db-data", "db-log")) {
            assertThat(Files.mismatch(site.primary(volume), site.replica(volume)))
                    .as("first differing byte of %s and its replica", volume).isEqualTo(-1L);
        }
    }

    private static Cmd.Result fio(String target, String generation, boolean verifyOnly) {
        List<String> command = new ArrayList<>(List.of("fio", "--name=gen",
                target.startsWith("--uri") ? "--ioengine=nbd" : "--ioengine=psync", target,
                "--rw=randwrite", "--bs=4k", "--iodepth=" + (target.startsWith("--uri") ? 32 : 1), "--size=16m",
                "--offset=0", "--randseed=4242", "--verify=pattern", "--verify_pattern=" + generation + "%o",
                "--verify_state_save=0"));
        command.add(verifyOnly ? "--verify_only=1" : "--do_verify=0");
        return Cmd.run(300, command);
    }

    private static void closeQuietly(NbdClient client) {
        try {
            client.close();
        } catch (IOException ignored) {
            // the agent is gone
        }
    }

    /** Background writers through NBD: random 4-64 KiB writes with periodic flushes on both volumes. */
    private static final class Writer {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicLong writes = new AtomicLong();
        private final List<Thread> threads = new ArrayList<>();
        private final List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();

        static Writer start(AgentNode agent, int count) {
            Writer writer = new Writer();
            for (int t = 0; t < count; t++) {
                int id = t;
                Thread thread = new Thread(() -> {
                    Random random = new Random(id);
                    try (NbdClient client = NbdClient.connect(agent.nbdAddress(), id % 2 == 0 ? "db-data" : "db-log")) {
                        while (!writer.stop.get()) {
                            int length = 4096 << random.nextInt(5);
                            long offset = (long) random.nextInt((int) ((Site.VOLUME_BYTES - length) / 4096)) * 4096;
                            byte[] data = new byte[length];
                            random.nextBytes(data);
                            client.write(offset, data, false);
                            if (writer.writes.incrementAndGet() % 50 == 0) {
                                client.flush();
                            }
                        }
                        client.flush();
                    } catch (Throwable e) {
                        writer.failures.add(e);
                    }
                }, "writer-" + t);
                writer.threads.add(thread);
                thread.start();
            }
            return writer;
        }

        void stop() throws InterruptedException {
            stop.set(true);
            for (Thread thread : threads) {
                thread.join(60_000);
            }
            assertThat(failures).isEmpty();
            assertThat(writes.get()).isPositive();
        }
    }
}
