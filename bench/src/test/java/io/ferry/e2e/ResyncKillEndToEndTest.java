package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentMain;
import io.ferry.api.ApiClient;
import io.ferry.testing.ChildJvm;
import io.ferry.testing.Cmd;
import io.ferry.testing.Interop;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A resync after bitmap mode, interrupted by a kill -9 of the receiver and then of the agent:
 * each time the resync starts again where the dirty map says and completes, and in between the
 * DR site never exposes a mixed image: the receiver's latest stays the last consistent point
 * (generation 1 in full, checked by fio through a drill). Both daemons run as child JVMs.
 */
class ResyncKillEndToEndTest {
    private static final Logger LOG = LoggerFactory.getLogger(ResyncKillEndToEndTest.class);
    private static final Duration WAIT = Duration.ofSeconds(180);
    private static final String GEN1 = "0x67656e31";
    private static final String GEN2 = "0x67656e32";

    @TempDir
    Path dir;

    @Test
    void shouldCompleteAResyncInterruptedByAKillOfEachDaemonWithoutExposingAMixedImage() throws Exception {
        Interop.requireTools("fio", "qemu-img");
        Site site = new Site(dir);
        int replicationPort = Site.freePort();
        int receiverApiPort = Site.freePort();
        int receiverNbdPort = Site.freePort();
        int agentApiPort = Site.freePort();
        int agentNbdPort = Site.freePort();
        Path receiverConfig = site.write("receiver.yaml", site.receiverYaml(replicationPort)
                .replace("api: { listen: 127.0.0.1:0 }", "api: { listen: 127.0.0.1:" + receiverApiPort + " }")
                .replace("nbd: { listen: 127.0.0.1:0 }", "nbd: { listen: 127.0.0.1:" + receiverNbdPort + " }"));
        Path agentConfig = site.write("agent.yaml", site.agentYaml(replicationPort, "1s")
                .replace("api: { listen: 127.0.0.1:0 }", "api: { listen: 127.0.0.1:" + agentApiPort + " }")
                .replace("listen: 127.0.0.1:0\n  socket", "listen: 127.0.0.1:" + agentNbdPort + "\n  socket")
                .replace("groups:\n", "journal: { maxBytes: 8MiB }\nsync: { maxRate: 1MiB }\ngroups:\n"));
        String data = "nbd://127.0.0.1:" + agentNbdPort + "/db-data";
        String drillData = "nbd://127.0.0.1:" + receiverNbdPort + "/db-data-drill";

        ChildJvm receiver = Site.startReceiverJvm(receiverConfig, List.of());
        ChildJvm agent = ChildJvm.start(dir.resolve("agent-1.log"), AgentMain.class.getName(), "--config",
                agentConfig.toString());
        try {
            ApiClient receiverApi = site.receiverApi(receiverApiPort);
            ApiClient agentApi = site.agentApi(agentApiPort);
            Site.assertSucceeded(Site.fioGeneration(data, GEN1, false), agent);
            await().atMost(WAIT).ignoreExceptions().until(() -> group(receiverApi).get("consistent").asBoolean()
                    && group(receiverApi).get("appliedSeq").asLong() == Site.agentGroup(agentApi).get("capturedSeq").asLong());
            long afterGeneration1 = group(receiverApi).get("lastConsistentSeq").asLong();

            // The outage: 16 MiB of generation 2 past an 8 MiB journal.
            assertThat(receiver.stop()).isZero();
            receiver.close();
            Site.assertSucceeded(Site.fioGeneration(data, GEN2, false), agent);
            assertThat(Site.agentGroup(agentApi).get("mode").asText()).isEqualTo("bitmap");

            // The receiver returns and the resync (1 MiB/s) starts; kill -9 of the receiver in it.
            receiver = Site.startReceiverJvm(receiverConfig, List.of());
            awaitResyncProgress(receiverApi);
            // the point the resync keeps: the last seq the receiver held before it (generation 1 in full)
            long lastConsistent = group(receiverApi).get("lastConsistentSeq").asLong();
            assertThat(lastConsistent).isGreaterThanOrEqualTo(afterGeneration1);
            receiver.kill9();
            receiver.close();
            receiver = Site.startReceiverJvm(receiverConfig, List.of());
            JsonNode again = awaitGroup(receiverApi);
            LOG.info("receiver after its kill -9 in the resync: {}", again);
            assertThat(again.get("consistent").asBoolean()).as("a half-done resync is not consistent").isFalse();
            assertThat(again.get("lastConsistentSeq").asLong()).isEqualTo(lastConsistent);
            assertLatestHoldsGeneration1(receiverApi, drillData, lastConsistent);

            // The resync goes on; kill -9 of the agent in it.
            awaitResyncProgress(receiverApi);
            agent.kill9();
            agent.close();
            agent = ChildJvm.start(dir.resolve("agent-2.log"), AgentMain.class.getName(), "--config",
                    agentConfig.toString());
            JsonNode restarted = awaitAgentGroup(agentApi);
            LOG.info("agent after its kill -9 in the resync: {}", restarted);
            assertThat(restarted.get("dirtyBytes").asLong()).as("what is left to resync survives").isPositive();
            assertLatestHoldsGeneration1(receiverApi, drillData, lastConsistent);

            await().atMost(WAIT).ignoreExceptions().until(() -> {
                JsonNode g = Site.agentGroup(agentApi);
                return group(receiverApi).get("consistent").asBoolean() && "journal".equals(g.get("mode").asText())
                        && g.get("dirtyBytes").asLong() == 0 && g.get("sync").isNull()
                        && group(receiverApi).get("appliedSeq").asLong() == g.get("capturedSeq").asLong();
            });
            assertThat(group(receiverApi).get("lastConsistentSeq").asLong()).isGreaterThan(lastConsistent);
            assertThat(agent.stop()).isZero();
            assertThat(receiver.stop()).isZero();
            for (String volume : List.of("db-data", "db-log")) {
                Cmd.run(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", site.primary(volume).toString(),
                        site.replica(volume).toString()).assertSuccess();
            }
        } finally {
            agent.close();
            receiver.close();
        }
    }

    /** While the resync runs, a drill at latest is the last consistent point: generation 1 in full. */
    private static void assertLatestHoldsGeneration1(ApiClient api, String drillData, long lastConsistent) {
        JsonNode drill = api.post("/v1/groups/db/drill", Map.of("point", "latest"));
        try {
            assertThat(drill.get("seq").asLong()).as("latest during a resync").isEqualTo(lastConsistent);
            Site.fioGeneration(drillData, GEN1, true).assertSuccess();
        } finally {
            api.delete("/v1/groups/db/drill");
        }
    }

    private static void awaitResyncProgress(ApiClient api) {
        await().atMost(WAIT).ignoreExceptions().until(() -> {
            JsonNode sync = group(api).get("sync");
            return "syncing".equals(group(api).get("state").asText()) && sync != null && !sync.isNull()
                    && "resync".equals(sync.get("kind").asText()) && sync.get("doneBytes").asLong() > 0;
        });
    }

    private static JsonNode awaitGroup(ApiClient api) {
        await().atMost(WAIT).ignoreExceptions().until(() -> group(api) != null);
        return group(api);
    }

    private static JsonNode group(ApiClient api) {
        return api.get("/v1/groups/db");
    }

    private static JsonNode awaitAgentGroup(ApiClient api) {
        await().atMost(WAIT).ignoreExceptions().until(() -> Site.agentGroup(api) != null);
        return Site.agentGroup(api);
    }

}
