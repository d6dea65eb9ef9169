package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiToken;
import io.ferry.nbd.NbdClient;
import io.ferry.receiver.ReceiverNode;
import io.ferry.receiver.config.ReceiverConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Recovery points: a bookmark becomes a labelled point at its seq, automatic points come at the interval, both survive a restart. */
class RecoveryPointsEndToEndTest {
    private static final Duration CATCH_UP = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void shouldKeepABookmarkAtItsSeqAndAutomaticPointsAtTheIntervalAcrossAReceiverRestart() throws Exception {
        Site site = new Site(dir);
        ReceiverConfig receiverConfig = ReceiverConfig.parse(site.receiverYaml(0) + """
                pointInterval: 1s
                retention: 1h
                """, dir);
        List<JsonNode> before;
        long bookmarkSeq;
        try (ReceiverNode receiver = Site.receiver(receiverConfig);
             AgentNode agent = Site.agent(site.agentConfig(receiver.replicationAddress().getPort(), "1s"));
             NbdClient data = NbdClient.connect(agent.nbdAddress(), "db-data")) {
            Random random = new Random(42);
            byte[] block = new byte[64 << 10];
            for (int i = 0; i < 16; i++) {
                random.nextBytes(block);
                data.write((long) i * block.length, block, false);
            }
            ApiClient agentApi = new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(),
                    ApiClient.readTokenFile(agent.config().dataDir().resolve(ApiToken.FILE_NAME)));
            long capturedAtBookmark = agent.group("db").pipeline().capturedSeq();
            JsonNode reply = agentApi.post("/v1/groups/db/bookmarks", Map.of("name", "before-upgrade ✓"));
            bookmarkSeq = reply.get("seq").asLong();
            assertThat(bookmarkSeq).isEqualTo(capturedAtBookmark).isPositive();
            assertThat(reply.get("group").asText()).isEqualTo("db");
            assertThat(reply.get("name").asText()).isEqualTo("before-upgrade ✓");

            ApiClient receiverApi = new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                    ApiClient.readTokenFile(receiver.apiTokenFile()));
            // Keep writing until several automatic points were taken (each at most once a second).
            long[] offset = {16};
            await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(100)).until(() -> {
                random.nextBytes(block);
                data.write((offset[0]++ % 512) * block.length, block, false);
                return kinds(receiverApi.get("/v1/groups/db/points"), "auto").size() >= 3;
            });
            await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(50)).until(() ->
                    receiver.group("db").appliedSeq() == agent.group("db").pipeline().capturedSeq());

            JsonNode points = receiverApi.get("/v1/groups/db/points");
            List<JsonNode> bookmarks = kinds(points, "bookmark");
            assertThat(bookmarks).hasSize(1);
            assertThat(bookmarks.get(0).get("label").asText()).isEqualTo("before-upgrade ✓");
            assertThat(bookmarks.get(0).get("seq").asLong()).isEqualTo(bookmarkSeq);
            List<JsonNode> autos = kinds(points, "auto");
            for (int i = 1; i < autos.size(); i++) {
                Instant previous = Instant.parse(autos.get(i - 1).get("time").asText());
                Instant current = Instant.parse(autos.get(i).get("time").asText());
                assertThat(Duration.between(previous, current)).as("automatic points at most once per pointInterval")
                        .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
                assertThat(autos.get(i).get("seq").asLong()).isGreaterThan(autos.get(i - 1).get("seq").asLong());
            }
            long previousSeq = 0;
            for (JsonNode point : points) {
                assertThat(point.get("id").asText()).isNotBlank();
                assertThat(point.get("seq").asLong()).isGreaterThanOrEqualTo(previousSeq)
                        .isLessThanOrEqualTo(receiver.group("db").appliedSeq());
                assertThat(point.get("time").asText()).endsWith("Z");
                previousSeq = point.get("seq").asLong();
            }
            before = list(points);
        }

        try (ReceiverNode restarted = Site.receiver(receiverConfig)) {
            ApiClient receiverApi = new ApiClient("127.0.0.1:" + restarted.apiAddress().getPort(),
                    ApiClient.readTokenFile(restarted.apiTokenFile()));
            assertThat(list(receiverApi.get("/v1/groups/db/points"))).as("points survive a restart")
                    .isEqualTo(before);
        }
    }

    private static List<JsonNode> kinds(JsonNode points, String kind) {
        List<JsonNode> out = new ArrayList<>();
        points.forEach(p -> {
            if (kind.equals(p.get("kind").asText())) {
                out.add(p);
            }
        });
        return out;
    }

    private static List<JsonNode> list(JsonNode points) {
        List<JsonNode> out = new ArrayList<>();
        points.forEach(out::add);
        return out;
    }
}
