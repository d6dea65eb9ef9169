package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.agent.config.AgentConfig;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiToken;
import io.ferry.nbd.NbdClient;
import io.ferry.nbd.NbdErrors;
import io.ferry.nbd.NbdException;
import io.ferry.nbd.NbdProtocol;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import io.ferry.testing.TcpProxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The old primary after a promote it was cut off from: it goes on taking writes until it learns
 * of the promote (those are divergent, counted in {@code divergentBytes}); from then on every
 * write is refused with EPERM, new connections are read-only, status says fenced, and all of it
 * survives a restart of the agent while the DR site is still unreachable.
 */
class FencingEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void shouldFenceTheOldPrimaryCountItsDivergentWritesAndStayFencedAcrossARestart() throws Exception {
        Site site = new Site(dir);
        Random random = new Random(21);
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0));
             TcpProxy link = new TcpProxy(receiver.replicationAddress())) {
            AgentConfig config = site.agentConfig(link.address().getPort(), "2s");
            GroupReplica replica = receiver.group("db");
            ApiClient dr = new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                    ApiClient.readTokenFile(receiver.apiTokenFile()));
            long promotedAt;
            try (AgentNode agent = Site.agent(config);
                 NbdClient client = NbdClient.connect(agent.nbdAddress(), "db-data")) {
                ApiClient api = agentApi(agent);
                client.write(0, bytes(random, 1 << 20), true);
                await().atMost(WAIT).until(() -> replica.consistent()
                        && agent.shipper().group("db").ackedSeq() == agent.group("db").pipeline().capturedSeq());
                promotedAt = agent.group("db").pipeline().capturedSeq();

                // The DR site promotes while it is cut off from the agent, which goes on writing.
                link.block(true);
                JsonNode promoted = dr.post("/v1/groups/db/promote", Map.of("point", "latest"));
                assertThat(promoted.get("seq").asLong()).isEqualTo(promotedAt);
                client.write(4L << 20, bytes(random, 256 << 10), true);
                assertThat(agent.group("db").pipeline().capturedSeq()).as("not fenced yet: the write is taken")
                        .isGreaterThan(promotedAt);
                assertThat(group(api).get("divergentBytes").asLong()).isZero();

                // The link returns: the agent learns of the promote and fences the group.
                link.block(false);
                await().atMost(WAIT).until(() -> "fenced".equals(group(api).get("state").asText()));
                JsonNode fenced = group(api);
                assertThat(fenced.get("divergentBytes").asLong()).as("the write after the promote point")
                        .isEqualTo(256 << 10);
                assertThat(fenced.get("problem").asText()).contains("promoted at the DR site at seq " + promotedAt);
                // The generation chains tell both sides the old primary wrote past the promote point.
                assertThat(fenced.get("peer").get("relation").asText()).isEqualTo("split-brain");
                assertThat(fenced.get("peer").get("divergedAtSeq").asLong()).isEqualTo(promotedAt);
                assertThat(fenced.get("peer").get("divergentSeqs").asLong()).isEqualTo(1);
                JsonNode drGroup = dr.get("/v1/groups/db");
                assertThat(drGroup.get("generations")).hasSize(2);
                assertThat(drGroup.get("generations").get(1).get("startSeq").asLong()).isEqualTo(promotedAt);
                assertThat(drGroup.get("generations").get(0).get("id").asText())
                        .isEqualTo(fenced.get("generationId").asText());
                assertThat(drGroup.get("agentRelation").get("relation").asText()).isEqualTo("split-brain");
                assertThat(drGroup.get("agentRelation").get("agentDivergentSeqs").asLong()).isEqualTo(1);
                assertThat(drGroup.get("agentRelation").get("drDivergentSeqs").asLong()).isZero();
                assertThatThrownBy(() -> client.write(0, bytes(random, 4096), false))
                        .isInstanceOfSatisfying(NbdException.class, e -> assertThat(e.errno()).isEqualTo(NbdErrors.EPERM));
                try (NbdClient late = NbdClient.connect(agent.nbdAddress(), "db-log")) {
                    assertThat(late.transmissionFlags() & NbdProtocol.FLAG_READ_ONLY).as("read-only flag").isNotZero();
                    assertThat(late.read(0, 4096)).hasSize(4096);
                }
                assertThat(replica.appliedSeq()).as("nothing after the promote reaches the DR copy").isEqualTo(promotedAt);
                assertThatThrownBy(() -> api.post("/v1/groups/db/bookmarks", Map.of("name", "too-late")))
                        .isInstanceOfSatisfying(io.ferry.api.ApiClientException.class, e -> {
                            assertThat(e.status()).isEqualTo(409);
                            assertThat(e.code()).isEqualTo("fenced");
                        });
            }

            // A restart while the DR site is unreachable: fenced from the first request on.
            link.block(true);
            try (AgentNode agent = Site.agent(config);
                 NbdClient client = NbdClient.connect(agent.nbdAddress(), "db-data")) {
                JsonNode group = group(agentApi(agent));
                assertThat(group.get("state").asText()).isEqualTo("fenced");
                assertThat(group.get("divergentBytes").asLong()).isEqualTo(256 << 10);
                assertThat(client.transmissionFlags() & NbdProtocol.FLAG_READ_ONLY).isNotZero();
                assertThatThrownBy(() -> client.write(0, bytes(random, 4096), true))
                        .isInstanceOfSatisfying(NbdException.class, e -> assertThat(e.errno()).isEqualTo(NbdErrors.EPERM));
            }
        }
    }

    private static byte[] bytes(Random random, int length) {
        byte[] data = new byte[length];
        random.nextBytes(data);
        return data;
    }

    private static ApiClient agentApi(AgentNode agent) {
        return new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(),
                ApiClient.readTokenFile(agent.config().dataDir().resolve(ApiToken.FILE_NAME)));
    }

    private static JsonNode group(ApiClient api) {
        return api.get("/v1/status").get("groups").get(0);
    }
}
