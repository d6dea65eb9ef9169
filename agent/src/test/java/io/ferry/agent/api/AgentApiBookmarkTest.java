package io.ferry.agent.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.agent.AgentNode;
import io.ferry.agent.config.AgentConfig;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiClientException;
import io.ferry.api.ApiException;
import io.ferry.api.ApiToken;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentApiBookmarkTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static JsonNode body(Object name) {
        return JSON.valueToTree(java.util.Collections.singletonMap("name", name));
    }

    @Test
    void shouldAcceptLabelsOfOneTo256Utf8Bytes() {
        assertThat(AgentApi.bookmarkLabel(body("before-upgrade"))).isEqualTo("before-upgrade");
        assertThat(AgentApi.bookmarkLabel(body("x".repeat(256)))).hasSize(256);
        assertThat(AgentApi.bookmarkLabel(body("é".repeat(128)))).hasSize(128);
    }

    @Test
    void shouldRefuseEmptyOverlongMissingNonTextAndControlCharacterLabels() {
        for (JsonNode bad : new JsonNode[] {body(""), body("x".repeat(257)), body("é".repeat(129)), body(null),
                body(42), JSON.createObjectNode(), body("a\nb")}) {
            assertThatThrownBy(() -> AgentApi.bookmarkLabel(bad)).as("%s", bad)
                    .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(400));
        }
    }

    @Test
    void shouldAnswer404ForAnUnknownGroupAnd409WhenTheAgentHasNoReceiver() throws Exception {
        AgentConfig config = AgentConfig.parse("""
                id: host-a
                dataDir: %1$s/agent-data
                nbd:
                  listen: 127.0.0.1:0
                  socket: %1$s/agent.sock
                api:
                  listen: 127.0.0.1:0
                groups:
                  - name: db
                    rpo: 30s
                    volumes:
                      - { name: db-data, path: %1$s/db-data.img, size: 1048576 }
                """.formatted(dir), dir);
        try (AgentNode agent = AgentNode.launch(config)) {
            ApiClient api = new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(),
                    ApiClient.readTokenFile(config.dataDir().resolve(ApiToken.FILE_NAME)));
            assertThatThrownBy(() -> api.post("/v1/groups/nope/bookmarks", Map.of("name", "x")))
                    .isInstanceOfSatisfying(ApiClientException.class, e -> assertThat(e.status()).isEqualTo(404));
            assertThatThrownBy(() -> api.post("/v1/groups/db/bookmarks", Map.of("name", "")))
                    .isInstanceOfSatisfying(ApiClientException.class, e -> assertThat(e.status()).isEqualTo(400));
            assertThatThrownBy(() -> api.post("/v1/groups/db/bookmarks", Map.of("name", "x")))
                    .isInstanceOfSatisfying(ApiClientException.class, e -> {
                        assertThat(e.status()).isEqualTo(409);
                        assertThat(e.getMessage()).contains("no receiver");
                    });
        }
    }

    /** Garbage bodies with a valid token are refused with 400 naming the problem, before anything else is looked at. */
    @Test
    void shouldRefuseGarbageBookmarkBodiesWith400() throws Exception {
        AgentConfig config = AgentConfig.parse("""
                id: host-a
                dataDir: %1$s/agent-data
                nbd:
                  listen: 127.0.0.1:0
                api:
                  listen: 127.0.0.1:0
                groups:
                  - name: db
                    rpo: 30s
                    volumes:
                      - { name: db-data, path: %1$s/db-data.img, size: 1048576 }
                """.formatted(dir), dir);
        Map<String, String> garbage = Map.of(
                "", "missing_body",
                "[]", "not_an_object",
                "\"x\"", "not_an_object",
                "{}", "missing_field",
                "{\"label\": \"x\"}", "unknown_field",
                "{\"name\": \"x\", \"seq\": 1}", "unknown_field",
                "{\"name\": 7}", "bad_field",
                "{\"name\": [\"x\"]}", "bad_field",
                "{\"name\": \"x\"", "bad_json");
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
                .version(java.net.http.HttpClient.Version.HTTP_1_1).build();
        try (AgentNode agent = AgentNode.launch(config)) {
            String token = ApiClient.readTokenFile(config.dataDir().resolve(ApiToken.FILE_NAME));
            java.net.URI uri = java.net.URI.create("http://127.0.0.1:" + agent.apiAddress().getPort()
                    + "/v1/groups/db/bookmarks");
            for (Map.Entry<String, String> bad : garbage.entrySet()) {
                var request = java.net.http.HttpRequest.newBuilder(uri)
                        .header("Authorization", "Bearer " + token)
                        .POST(bad.getKey().isEmpty() ? java.net.http.HttpRequest.BodyPublishers.noBody()
                                : java.net.http.HttpRequest.BodyPublishers.ofString(bad.getKey()))
                        .build();
                var response = http.send(request, java.net.http.HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).as("<%s>", bad.getKey()).isEqualTo(400);
                assertThat(JSON.readTree(response.body()).get("error").asText()).as("<%s>", bad.getKey())
                        .isEqualTo(bad.getValue());
            }
            ApiClient api = new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(), token);
            assertThatThrownBy(() -> api.post("/v1/groups/db/bookmarks", Map.of("name", "x")))
                    .as("a valid body gets past the body check (and meets the missing receiver)")
                    .isInstanceOfSatisfying(ApiClientException.class, e -> assertThat(e.status()).isEqualTo(409));
        }
    }

    /** A long disconnection must not make bookmarks vanish: past the backlog the request is refused. */
    @Test
    void shouldRefuseBookmarksWith503OnceTheBacklogForAnUnreachableReceiverIsFull() throws Exception {
        AgentConfig config = withUnreachableReceiver("journal: { maxBytes: 8GiB }", 1 << 20);
        try (AgentNode agent = AgentNode.launch(config)) {
            ApiClient api = new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(),
                    ApiClient.readTokenFile(config.dataDir().resolve(ApiToken.FILE_NAME)));
            for (int i = 0; i < 1024; i++) {
                assertThat(api.post("/v1/groups/db/bookmarks", Map.of("name", "b" + i)).path("name").asText())
                        .isEqualTo("b" + i);
            }
            assertThatThrownBy(() -> api.post("/v1/groups/db/bookmarks", Map.of("name", "one-too-many")))
                    .isInstanceOfSatisfying(ApiClientException.class, e -> {
                        assertThat(e.status()).isEqualTo(503);
                        assertThat(e.code()).isEqualTo("bookmark_backlog");
                    });
        }
    }

    /** A bookmark in bitmap mode could never become a point: refused at once, not dropped later. */
    @Test
    void shouldRefuseABookmarkWith409WhileTheGroupIsInBitmapMode() throws Exception {
        AgentConfig config = withUnreachableReceiver("journal: { maxBytes: 1MiB }", 8 << 20);
        try (AgentNode agent = AgentNode.launch(config)) {
            ApiClient api = new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(),
                    ApiClient.readTokenFile(config.dataDir().resolve(ApiToken.FILE_NAME)));
            assertThat(api.post("/v1/groups/db/bookmarks", Map.of("name", "before")).path("name").asText())
                    .isEqualTo("before");
            io.ferry.capture.pipeline.WritePipeline pipeline = agent.group("db").pipeline();
            for (int i = 0; i < 32 && !pipeline.bitmapMode(); i++) {
                java.util.concurrent.CompletableFuture<Integer> done = new java.util.concurrent.CompletableFuture<>();
                pipeline.submitWrite(0, (i % 32) * (256L << 10), io.netty.buffer.Unpooled.wrappedBuffer(new byte[256 << 10]),
                        false, done::complete);
                assertThat(done.get(10, java.util.concurrent.TimeUnit.SECONDS)).isZero();
            }
            assertThat(pipeline.bitmapMode()).as("8 MiB written past a 1 MiB journal").isTrue();
            assertThatThrownBy(() -> api.post("/v1/groups/db/bookmarks", Map.of("name", "during-the-outage")))
                    .isInstanceOfSatisfying(ApiClientException.class, e -> {
                        assertThat(e.status()).isEqualTo(409);
                        assertThat(e.code()).isEqualTo("bitmap_mode");
                        assertThat(e.getMessage()).contains("resync");
                    });
        }
    }

    /** An agent whose receiver is a closed loopback port (it dials in vain), with {@code journal} and a volume of {@code volumeBytes}. */
    private AgentConfig withUnreachableReceiver(String journal, long volumeBytes) throws Exception {
        Path certs = java.nio.file.Files.createDirectories(dir.resolve("certs"));
        io.ferry.tls.Certificates.createCa(certs);
        io.ferry.tls.Certificates.issue(certs, "host-a", certs);
        int closedPort;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        return AgentConfig.parse("""
                id: host-a
                dataDir: %1$s/agent-data
                nbd: { listen: 127.0.0.1:0 }
                api: { listen: 127.0.0.1:0 }
                receiver: 127.0.0.1:%2$d
                tls: { ca: certs/ca.pem, cert: certs/host-a.pem, key: certs/host-a.key }
                %3$s
                groups:
                  - name: db
                    rpo: 30s
                    volumes:
                      - { name: db-data, path: %1$s/db-data.img, size: %4$d }
                """.formatted(dir, closedPort, journal, volumeBytes), dir);
    }
}
