package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiClientException;
import io.ferry.api.ApiToken;
import io.ferry.nbd.NbdClient;
import io.ferry.nbd.NbdErrors;
import io.ferry.nbd.NbdException;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import io.ferry.testing.Cmd;
import io.ferry.testing.Interop;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Promote to latest through the receiver API: the promoted export verifies, the old agent is fenced (refuses writes). */
class PromoteEndToEndTest {
    private static final Logger LOG = LoggerFactory.getLogger(PromoteEndToEndTest.class);
    private static final Duration CATCH_UP = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void shouldPromoteToLatestExportTheSecondGenerationAndFenceTheOldAgent() throws Exception {
        Interop.requireTools("fio", "qemu-img");
        Site site = new Site(dir);
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0));
             AgentNode agent = Site.agent(site.agentConfig(receiver.replicationAddress().getPort(), "2s"))) {
            String agentNbd = "nbd://127.0.0.1:" + agent.nbdAddress().getPort() + "/db-data";
            fio("--uri=" + agentNbd, "0x5eed0001", false).assertSuccess();
            fio("--uri=" + agentNbd, "0x5eed0002", false).assertSuccess();
            GroupReplica replica = receiver.group("db");
            await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(50))
                    .until(() -> agent.shipper().group("db").ackedSeq() == agent.group("db").pipeline().capturedSeq());

            ApiClient api = new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                    ApiClient.readTokenFile(receiver.apiTokenFile()));
            JsonNode reply = api.post("/v1/groups/db/promote", Map.of("point", "latest"));
            LOG.info("promote to latest took {} ms: {}", reply.get("promoteMillis").asLong(), reply);

            long capturedAtPromote = agent.group("db").pipeline().capturedSeq();
            assertThat(reply.get("state").asText()).isEqualTo("promoted");
            assertThat(reply.get("point").asText()).isEqualTo("latest");
            assertThat(reply.get("seq").asLong()).isEqualTo(capturedAtPromote).isEqualTo(replica.appliedSeq());
            assertThat(reply.get("generationId").asLong()).isEqualTo(replica.generationId()).isNotZero();
            assertThat(reply.get("promoteMillis").asLong()).isNotNegative();
            String exportUri = "nbd://127.0.0.1:" + receiver.nbdAddress().getPort() + "/db-data";
            List<String> uris = new ArrayList<>();
            reply.get("exports").forEach(e -> uris.add(e.get("uri").asText()));
            assertThat(uris).contains(exportUri, "nbd://127.0.0.1:" + receiver.nbdAddress().getPort() + "/db-log");
            assertThat(api.get("/v1/groups/db").get("state").asText()).isEqualTo("promoted");

            fio("--uri=" + exportUri, "0x5eed0002", true).assertSuccess();
            Cmd.run(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", site.primary("db-data").toString(),
                    exportUri).assertSuccess();

            // The old agent is fenced: it refuses writes, and both statuses say so.
            await().atMost(Duration.ofSeconds(60)).until(() -> "fenced".equals(agent.shipper().group("db").state()));
            try (NbdClient client = NbdClient.connect(agent.nbdAddress(), "db-log")) {
                byte[] data = new byte[1 << 20];
                new Random(5).nextBytes(data);
                assertThatThrownBy(() -> client.write(0, data, true)).isInstanceOfSatisfying(NbdException.class,
                        e -> assertThat(e.errno()).isEqualTo(NbdErrors.EPERM));
            }
            ApiClient agentApi = new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(),
                    ApiClient.readTokenFile(agent.config().dataDir().resolve(ApiToken.FILE_NAME)));
            JsonNode agentGroup = agentApi.get("/v1/status").get("groups").get(0);
            assertThat(agentGroup.get("state").asText()).isEqualTo("fenced");
            assertThat(agentGroup.get("problem").asText()).contains("promoted at the DR site");
            assertThat(agentGroup.get("divergentBytes").asLong()).isZero();
            assertThat(agent.group("db").pipeline().capturedSeq()).isEqualTo(capturedAtPromote);
            assertThat(replica.appliedSeq()).as("no write after the promote reaches the replica")
                    .isEqualTo(capturedAtPromote);
            assertThat(replica.receivedSeq()).isEqualTo(capturedAtPromote);

            assertThatThrownBy(() -> api.post("/v1/groups/db/promote", Map.of("point", "latest")))
                    .isInstanceOfSatisfying(ApiClientException.class, e -> {
                        assertThat(e.status()).isEqualTo(409);
                        assertThat(e.getMessage()).contains("already promoted");
                    });
        }
    }

    private static Cmd.Result fio(String uri, String generation, boolean verifyOnly) {
        List<String> command = new ArrayList<>(List.of("fio", "--name=gen", "--ioengine=nbd", uri,
                "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=16m", "--offset=0", "--randseed=4242",
                "--verify=pattern", "--verify_pattern=" + generation + "%o", "--verify_state_save=0"));
        command.add(verifyOnly ? "--verify_only=1" : "--do_verify=0");
        return Cmd.run(300, command);
    }
}
