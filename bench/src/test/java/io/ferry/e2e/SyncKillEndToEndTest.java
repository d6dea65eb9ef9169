package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentMain;
import io.ferry.agent.AgentNode;
import io.ferry.agent.config.AgentConfig;
import io.ferry.api.ApiClient;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import io.ferry.testing.ChildJvm;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of either daemon in the middle of an initial sync: after the restart the sync starts
 * again and completes, and the replicas equal the primaries; the receiver never calls a half
 * synced replica consistent.
 */
class SyncKillEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void shouldCompleteTheSyncAfterTheReceiverIsKilledInTheMiddleOfIt() throws Exception {
        Site site = new Site(dir);
        fill(site);
        int replicationPort = Site.freePort();
        int apiPort = Site.freePort();
        Path config = site.write("receiver.yaml", site.receiverYaml(replicationPort)
                .replace("api: { listen: 127.0.0.1:0 }", "api: { listen: 127.0.0.1:" + apiPort + " }"));
        try (AgentNode agent = Site.agent(AgentConfig.parse(slowSync(site, replicationPort), dir))) {
            try (ChildJvm receiver = Site.startReceiverJvm(config, List.of())) {
                ApiClient api = site.receiverApi(apiPort);
                await().atMost(WAIT).ignoreExceptions().until(() -> syncDone(group(api)) > 0);
                assertThat(group(api).get("consistent").asBoolean()).isFalse();
                receiver.kill9();
            }
            try (ChildJvm receiver = Site.startReceiverJvm(config, List.of())) {
                ApiClient api = site.receiverApi(apiPort);
                await().atMost(WAIT).ignoreExceptions().until(() -> !group(api).get("consistent").asBoolean());
                await().atMost(WAIT).ignoreExceptions().until(() -> group(api).get("consistent").asBoolean()
                        && group(api).get("appliedSeq").asLong() == agent.group("db").pipeline().capturedSeq()
                        && agent.shipper().group("db").sync() == null);
                assertThat(group(api).get("state").asText()).isEqualTo("replicating");
                site.assertReplicasEqualPrimaries();
                receiver.stop();
            }
        }
    }

    @Test
    void shouldCompleteTheSyncAfterTheAgentIsKilledInTheMiddleOfIt() throws Exception {
        Site site = new Site(dir);
        fill(site);
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0))) {
            Path config = site.write("agent.yaml", slowSync(site, receiver.replicationAddress().getPort()));
            GroupReplica replica = receiver.group("db");
            try (ChildJvm agent = ChildJvm.start(dir.resolve("agent-1.log"), AgentMain.class.getName(),
                    "--config", config.toString())) {
                await().atMost(WAIT).until(() -> replica.syncProgress() != null
                        && replica.syncProgress().doneBytes() > 0);
                agent.kill9();
            }
            assertThat(replica.consistent()).isFalse();
            try (ChildJvm agent = ChildJvm.start(dir.resolve("agent-2.log"), AgentMain.class.getName(),
                    "--config", config.toString())) {
                await().atMost(WAIT).until(replica::consistent);
                long applied = replica.appliedSeq();
                await().atMost(WAIT).until(() -> replica.durableSeq() == applied && replica.receivedSeq() == applied);
                assertThat(agent.stop()).isZero();
            }
            site.assertReplicasEqualPrimaries();
        }
    }

    /** Data in three places of each volume, holes elsewhere: 24 MiB, about 6 s at the sync's 4 MiB/s. */
    private static void fill(Site site) throws IOException {
        Random random = new Random(11);
        for (String volume : new String[] {"db-data", "db-log"}) {
            try (RandomAccessFile file = new RandomAccessFile(site.primary(volume).toFile(), "rw")) {
                file.setLength(Site.VOLUME_BYTES);
                for (long at : new long[] {0, 30L << 20, 56L << 20}) {
                    byte[] data = new byte[4 << 20];
                    random.nextBytes(data);
                    file.seek(at);
                    file.write(data);
                }
            }
        }
    }

    private static String slowSync(Site site, int receiverPort) {
        return site.agentYaml(receiverPort, "1s").replace("groups:\n", "sync: { maxRate: 4MiB }\ngroups:\n");
    }

    private static long syncDone(JsonNode group) {
        JsonNode sync = group.get("sync");
        return sync == null || sync.isNull() ? 0 : sync.get("doneBytes").asLong();
    }

    private static JsonNode group(ApiClient api) {
        return api.get("/v1/groups/db");
    }
}
