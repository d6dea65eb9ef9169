package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.api.ApiClient;
import io.ferry.capture.GroupCapture;
import io.ferry.nbd.NbdClient;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * After a promote the DR site captures the writes made to its exports, as the agent captures
 * its own (journal in order, dirty map beyond it, activity log): the groundwork of reverse
 * protection. The writes reach the replica images, status shows them, and the capture and its
 * data outlive a restart of the receiver.
 */
class PromotedWritesEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void shouldCaptureTheWritesMadeAtTheDrSiteSinceThePromoteAndKeepThemAcrossARestart() throws Exception {
        Site site = new Site(dir);
        Random random = new Random(5);
        byte[] first = bytes(random, 1 << 20);
        byte[] second = bytes(random, 64 << 10);
        long journalSeq;
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0))) {
            GroupReplica replica = receiver.group("db");
            try (AgentNode agent = Site.agent(site.agentConfig(receiver.replicationAddress().getPort(), "2s"));
                 NbdClient client = NbdClient.connect(agent.nbdAddress(), "db-data")) {
                client.write(0, bytes(random, 256 << 10), true);
                await().atMost(WAIT).until(() -> replica.consistent()
                        && replica.appliedSeq() == agent.group("db").pipeline().capturedSeq());
            }
            ApiClient dr = api(receiver);
            dr.post("/v1/groups/db/promote", Map.of("point", "latest"));
            JsonNode before = group(dr);
            assertThat(before.get("drWrites").get("mode").asText()).isEqualTo("journal");
            GroupCapture capture = receiver.link("db").drCapture();
            assertThat(capture.capture().journal().lastSeq()).as("nothing written at the DR site yet").isZero();
            assertThat(capture.identity().generationId()).as("the capture carries the promote's generation")
                    .isEqualTo(replica.generationId());

            try (NbdClient client = NbdClient.connect(receiver.nbdAddress(), "db-data")) {
                client.write(8L << 20, first, true);
                client.write(32L << 20, second, true);
            }
            assertThat(capture.capture().journal().lastSeq()).as("one journal record per DR write").isEqualTo(2);
            JsonNode after = group(dr);
            assertThat(after.get("state").asText()).isEqualTo("promoted");
            assertThat(after.get("drWrites").get("journalBytes").asLong()).isPositive();
            assertThat(after.get("drWrites").get("dirtyBytes").asLong()).isZero();
            assertThat(after.get("generations")).as("the agent's generation, then the promote's").hasSize(2);
            assertThat(after.get("generations").get(1).get("id").asText())
                    .isEqualTo(Long.toHexString(replica.generationId()));
            journalSeq = capture.capture().journal().lastSeq();
        }
        assertRange(site.replica("db-data"), 8L << 20, first);
        assertRange(site.replica("db-data"), 32L << 20, second);

        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0))) {
            GroupCapture capture = receiver.link("db").drCapture();
            assertThat(capture).as("a promoted group's capture reopens with the receiver").isNotNull();
            assertThat(capture.capture().journal().lastSeq()).as("the DR writes are still held in order")
                    .isEqualTo(journalSeq);
            try (NbdClient client = NbdClient.connect(receiver.nbdAddress(), "db-log")) {
                client.write(0, second, true);
                assertThat(client.read(0, second.length)).isEqualTo(second);
            }
            assertThat(capture.capture().journal().lastSeq()).isEqualTo(journalSeq + 1);
        }
        assertRange(site.replica("db-log"), 0, second);
    }

    private static void assertRange(Path file, long offset, byte[] expected) throws Exception {
        byte[] all = Files.readAllBytes(file);
        byte[] range = java.util.Arrays.copyOfRange(all, (int) offset, (int) offset + expected.length);
        assertThat(range).as("%s at %d", file, offset).isEqualTo(expected);
    }

    private static ApiClient api(ReceiverNode receiver) {
        return new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                ApiClient.readTokenFile(receiver.apiTokenFile()));
    }

    private static JsonNode group(ApiClient api) {
        return api.get("/v1/groups/db");
    }

    private static byte[] bytes(Random random, int length) {
        byte[] data = new byte[length];
        random.nextBytes(data);
        return data;
    }
}
