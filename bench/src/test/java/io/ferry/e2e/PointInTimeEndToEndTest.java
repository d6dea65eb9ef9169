package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiClientException;
import io.ferry.api.ApiToken;
import io.ferry.receiver.ReceiverNode;
import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.replica.store.GroupReplica;
import io.ferry.testing.Cmd;
import io.ferry.testing.Interop;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Point-in-time recovery with fio's own verification: a first generation of data, a bookmark, a
 * second generation; then, while a third load keeps writing, a drill at the bookmark verifies as
 * the first generation and takes writes of its own, replication goes on under it, and the
 * replica is unchanged by the drill; finally the group is promoted at the bookmark and its export
 * verifies as the first generation.
 */
class PointInTimeEndToEndTest {
    private static final Logger LOG = LoggerFactory.getLogger(PointInTimeEndToEndTest.class);
    private static final Duration CATCH_UP = Duration.ofSeconds(120);
    private static final String GEN1 = "0x9e000001";
    private static final String GEN2 = "0x9e000002";

    @TempDir
    Path dir;

    @Test
    void shouldDrillAndPromoteAtABookmarkBetweenTwoGenerations() throws Exception {
        Interop.requireTools("fio", "qemu-img");
        Site site = new Site(dir);
        ReceiverConfig receiverConfig = ReceiverConfig.parse(site.receiverYaml(0) + """
                pointInterval: 1s
                retention: 1h
                """, dir);
        try (ReceiverNode receiver = Site.receiver(receiverConfig);
             AgentNode agent = Site.agent(site.agentConfig(receiver.replicationAddress().getPort(), "1s"))) {
            String agentData = "nbd://127.0.0.1:" + agent.nbdAddress().getPort() + "/db-data";
            String agentLog = "nbd://127.0.0.1:" + agent.nbdAddress().getPort() + "/db-log";
            ApiClient agentApi = new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(),
                    ApiClient.readTokenFile(agent.config().dataDir().resolve(ApiToken.FILE_NAME)));
            ApiClient api = new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                    ApiClient.readTokenFile(receiver.apiTokenFile()));
            GroupReplica replica = receiver.group("db");

            Site.fioGeneration(agentData, GEN1, false).assertSuccess();
            long bookmarkSeq = agentApi.post("/v1/groups/db/bookmarks", Map.of("name", "gen1-done")).get("seq")
                    .asLong();
            Site.fioGeneration(agentData, GEN2, false).assertSuccess();
            awaitCaughtUp(agent, replica);
            JsonNode bookmark = find(api.get("/v1/groups/db/points"), "gen1-done");
            assertThat(bookmark.get("seq").asLong()).isEqualTo(bookmarkSeq);
            String pointId = bookmark.get("id").asText();

            long receivedBeforeLoad = replica.receivedSeq();
            // A third load runs on the other volume while the drill is up; replication goes on.
            CompletableFuture<Cmd.Result> load = CompletableFuture.supplyAsync(() -> Cmd.run(300, "fio",
                    "--name=load", "--ioengine=nbd", "--uri=" + agentLog, "--rw=randwrite", "--bs=4k",
                    "--iodepth=8", "--size=32m", "--time_based", "--runtime=8", "--randseed=7"));
            await().atMost(CATCH_UP).until(() -> replica.receivedSeq() > receivedBeforeLoad + 500);
            JsonNode drill = api.post("/v1/groups/db/drill", Map.of("point", pointId));
            LOG.info("drill at {} started in {} ms: {}", pointId, drill.get("drillStartMillis").asLong(), drill);
            assertThat(drill.get("seq").asLong()).isEqualTo(bookmarkSeq);
            assertThat(api.get("/v1/groups/db").get("state").asText()).isEqualTo("drill");
            long appliedAtDrillStart = replica.appliedSeq();
            String drillData = "nbd://127.0.0.1:" + receiver.nbdAddress().getPort() + "/db-data-drill";
            Site.fioGeneration(drillData, GEN1, true).assertSuccess();
            Site.fioGeneration(drillData, "0x9e00dd11", false).assertSuccess();
            Site.fioGeneration(drillData, "0x9e00dd11", true).assertSuccess();
            await().atMost(CATCH_UP).until(() -> replica.appliedSeq() > appliedAtDrillStart);
            assertThatThrownBy(() -> api.post("/v1/groups/db/drill", Map.of("point", "latest")))
                    .isInstanceOfSatisfying(ApiClientException.class, e -> assertThat(e.code())
                            .isEqualTo("drill_running"));
            JsonNode stopped = api.delete("/v1/groups/db/drill");
            assertThat(stopped.get("scratchBytesDiscarded").asLong()).isPositive();
            assertThat(dir.resolve("receiver/drills/db/db-data.scratch")).doesNotExist();
            assertThat(load.join().exitCode()).as("the load ran through the drill").isZero();
            awaitCaughtUp(agent, replica);
            for (String volume : List.of("db-data", "db-log")) {
                Cmd.run(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", site.primary(volume).toString(),
                        site.replica(volume).toString()).assertSuccess();
            }
            LOG.info("undo log: {} bytes for the group", replica.undoBytes());

            JsonNode promoted = api.post("/v1/groups/db/promote", Map.of("point", pointId));
            LOG.info("promote to {} took {} ms: {}", pointId, promoted.get("promoteMillis").asLong(), promoted);
            assertThat(promoted.get("seq").asLong()).isEqualTo(bookmarkSeq);
            assertThat(promoted.get("point").asText()).isEqualTo(pointId);
            String promotedData = "nbd://127.0.0.1:" + receiver.nbdAddress().getPort() + "/db-data";
            Site.fioGeneration(promotedData, GEN1, true).assertSuccess();
            assertThat(Site.fioGeneration(promotedData, GEN2, true).exitCode()).as("the second generation is rolled back")
                    .isNotZero();
            assertThatThrownBy(() -> api.post("/v1/groups/db/promote", Map.of("point", "latest")))
                    .isInstanceOfSatisfying(ApiClientException.class, e -> assertThat(e.code())
                            .isEqualTo("already_promoted"));
        }
    }

    private static void awaitCaughtUp(AgentNode agent, GroupReplica replica) {
        await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(50))
                .until(() -> replica.appliedSeq() == agent.group("db").pipeline().capturedSeq());
    }

    private static JsonNode find(JsonNode points, String label) {
        for (JsonNode p : points) {
            if (label.equals(p.path("label").asText())) {
                return p;
            }
        }
        throw new AssertionError("no point labelled " + label + " in " + points);
    }
}
