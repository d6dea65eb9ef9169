package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.api.ApiClient;
import io.ferry.nbd.NbdClient;
import io.ferry.failpoint.FailPoints;
import io.ferry.replica.store.Promotion;
import io.ferry.testing.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the receiver daemon (a child JVM running {@code ferry receiver}) while it applies a
 * running write load, and again while it promotes: after each restart the group is either still
 * replicating (and catches up to the primary) or fully promoted (its export equal to the
 * primary), never in between.
 */
class ReceiverKillEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void shouldComeBackReplicatingOrFullyPromotedAfterKill9DuringApplyAndDuringPromote() throws Exception {
        Site site = new Site(dir);
        int replicationPort = Site.freePort();
        int apiPort = Site.freePort();
        Path config = site.write("receiver.yaml", site.receiverYaml(replicationPort)
                .replace("api: { listen: 127.0.0.1:0 }", "api: { listen: 127.0.0.1:" + apiPort + " }"));
        try (AgentNode agent = Site.agent(site.agentConfig(replicationPort, "1s"))) {
            // 1. kill -9 while the receiver applies a running load; the agent keeps writing.
            AtomicBoolean stop = new AtomicBoolean();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> write(agent, stop));
            try (ChildJvm receiver = Site.startReceiverJvm(config, List.of())) {
                ApiClient api = site.receiverApi(apiPort);
                await().atMost(WAIT).ignoreExceptions().until(() -> group(api).get("appliedSeq").asLong() > 2000);
                receiver.kill9();
            }
            // armed for step 2: the promote stops at a fail point, inside it, for the kill
            Path markers = dir.resolve("markers");
            Path insidePromote = markers.resolve(Promotion.BEFORE_PROMOTED_STATE);
            try (ChildJvm receiver = Site.startReceiverJvm(config,
                    FailPoints.jvmOptions(Promotion.BEFORE_PROMOTED_STATE, "pause", markers))) {
                ApiClient api = site.receiverApi(apiPort);
                long afterRestart = agent.group("db").pipeline().capturedSeq();
                await().atMost(WAIT).ignoreExceptions().until(() ->
                        group(api).get("appliedSeq").asLong() > afterRestart);
                stop.set(true);
                writer.join();
                awaitCaughtUp(agent, api);
                assertThat(group(api).get("state").asText()).isEqualTo("replicating");
                site.assertReplicasEqualPrimaries();

                // 2. kill -9 inside the promote: replicas synced at the applied seq, promoted state
                // not yet written (the daemon wrote the fail point's marker and stopped there).
                CompletableFuture<JsonNode> promote = CompletableFuture.supplyAsync(() ->
                        api.post("/v1/groups/db/promote", Map.of("point", "latest")));
                await().atMost(WAIT).until(() -> Files.exists(insidePromote) || promote.isDone());
                assertThat(insidePromote).as("the promote reached its fail point (reply: %s)",
                        promote.isDone() ? promote.handle((r, e) -> r + " " + e).join() : "none yet").exists();
                assertThat(promote).as("the promote cannot have answered: it is stopped inside").isNotDone();
                receiver.kill9();
            }
            try (ChildJvm receiver = Site.startReceiverJvm(config, List.of())) {
                ApiClient api = site.receiverApi(apiPort);
                await().atMost(WAIT).ignoreExceptions().until(() -> group(api) != null);
                assertThat(group(api).get("state").asText())
                        .as("killed before the promoted state was written: still replicating, never half promoted")
                        .isEqualTo("replicating");
                awaitCaughtUp(agent, api);
                site.assertReplicasEqualPrimaries();
                api.post("/v1/groups/db/promote", Map.of("point", "latest"));
                assertThat(group(api).get("state").asText()).isEqualTo("promoted");
                site.assertReplicasEqualPrimaries();
            }
        }
    }

    private static void write(AgentNode agent, AtomicBoolean stop) {
        Random random = new Random(11);
        byte[] block = new byte[64 << 10];
        try (NbdClient data = NbdClient.connect(agent.nbdAddress(), "db-data");
             NbdClient log = NbdClient.connect(agent.nbdAddress(), "db-log")) {
            for (int i = 0; !stop.get(); i++) {
                random.nextBytes(block);
                long offset = (long) random.nextInt((int) (Site.VOLUME_BYTES / block.length)) * block.length;
                (i % 3 == 0 ? log : data).write(offset, block, i % 50 == 0);
            }
        } catch (IOException e) {
            throw new IllegalStateException("the writer failed", e);
        }
    }

    private static JsonNode group(ApiClient api) {
        return api.get("/v1/groups/db");
    }

    private static void awaitCaughtUp(AgentNode agent, ApiClient api) {
        await().atMost(WAIT).ignoreExceptions().pollInterval(Duration.ofMillis(100)).until(() ->
                group(api).get("appliedSeq").asLong() == agent.group("db").pipeline().capturedSeq());
    }
}
