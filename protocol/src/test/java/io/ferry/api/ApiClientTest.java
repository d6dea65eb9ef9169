package io.ferry.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.config.ConfigException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiClientTest {

    private static final String TOKEN = "fedcba9876543210fedcba9876543210";

    private final AtomicReference<ApiRequest> seen = new AtomicReference<>();
    private ApiServer server;
    private ApiClient client;

    @BeforeEach
    void start() {
        Routes routes = Routes.builder()
                .get("/v1/status", request -> ApiResponse.ok(Map.of("id", "dr-1")))
                .post("/v1/groups/{g}/bookmarks", request -> {
                    seen.set(request);
                    return ApiResponse.created(Map.of("label", request.body().path("name").asText()));
                })
                .delete("/v1/groups/{g}/drill", request -> {
                    seen.set(request);
                    return ApiResponse.noContent();
                })
                .post("/v1/groups/{g}/promote", request -> {
                    throw new ApiException(409, "already_promoted", "group " + request.param("g") + " is promoted");
                })
                .metrics(() -> "ferry_up 1\n")
                .build();
        server = ApiServer.start(new InetSocketAddress("127.0.0.1", 0), TOKEN, routes);
        client = new ApiClient("127.0.0.1:" + server.address().getPort(), TOKEN);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void shouldGetJson() {
        assertThat(client.get("/v1/status").path("id").asText()).isEqualTo("dr-1");
    }

    @Test
    void shouldPostBodyAsJson() {
        assertThat(client.post("/v1/groups/db/bookmarks", Map.of("name", "before upgrade")).path("label").asText())
                .isEqualTo("before upgrade");
        assertThat(seen.get().param("g")).isEqualTo("db");
    }

    @Test
    void shouldDeleteAndReturnMissingNodeForNoContent() {
        assertThat(client.delete("/v1/groups/db/drill").isMissingNode()).isTrue();
        assertThat(seen.get().method()).isEqualTo("DELETE");
    }

    @Test
    void shouldGetText() {
        assertThat(client.getText("/metrics")).isEqualTo("ferry_up 1\n");
    }

    @Test
    void shouldRaiseTheServersCodeAndMessageOnAnErrorReply() {
        assertThatThrownBy(() -> client.post("/v1/groups/db/promote", Map.of("point", "latest")))
                .isInstanceOfSatisfying(ApiClientException.class, e -> {
                    assertThat(e.status()).isEqualTo(409);
                    assertThat(e.code()).isEqualTo("already_promoted");
                })
                .hasMessageContaining("409")
                .hasMessageContaining("group db is promoted");
    }

    @Test
    void shouldReportAWrongToken() {
        ApiClient wrong = new ApiClient("127.0.0.1:" + server.address().getPort(), TOKEN + "x");

        assertThatThrownBy(() -> wrong.get("/v1/status"))
                .isInstanceOfSatisfying(ApiClientException.class, e -> assertThat(e.status()).isEqualTo(401))
                .hasMessageContaining("bearer token is wrong");
    }

    @Test
    void shouldSayItCannotReachAnApiThatIsNotListening() throws IOException {
        int port;
        try (ServerSocket closed = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = closed.getLocalPort();
        }
        ApiClient unreachable = new ApiClient("127.0.0.1:" + port, TOKEN);

        assertThatThrownBy(() -> unreachable.get("/v1/status"))
                .isInstanceOfSatisfying(ApiClientException.class, e -> assertThat(e.status()).isZero())
                .hasMessageContaining("cannot reach ferry API at 127.0.0.1:" + port);
    }

    @Test
    void shouldReadTheTokenFileTrimmed(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("api.token"), "  " + TOKEN + "\n");

        assertThat(ApiClient.readTokenFile(file)).isEqualTo(TOKEN);
    }

    @Test
    void shouldNameAMissingOrEmptyTokenFile(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("nope.token");
        Path empty = Files.writeString(dir.resolve("empty.token"), " \n");

        assertThatThrownBy(() -> ApiClient.readTokenFile(missing))
                .isInstanceOf(ConfigException.class).hasMessageContaining(missing.toString());
        assertThatThrownBy(() -> ApiClient.readTokenFile(empty))
                .isInstanceOf(ConfigException.class).hasMessageContaining("empty");
    }
}
