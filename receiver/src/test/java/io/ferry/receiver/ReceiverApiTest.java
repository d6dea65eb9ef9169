package io.ferry.receiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiJson;
import io.ferry.config.HostPort;
import io.ferry.config.TlsFiles;
import io.ferry.delta.DeltaEncoder;
import io.ferry.delta.DeltaFormat;
import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.tls.Certificates;
import io.ferry.tls.TlsContexts;
import io.ferry.wire.Ack;
import io.ferry.wire.GroupHello;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The receiver's API on a real receiver with a replicated group. Garbage bodies with a valid token against the receiver's recovery endpoints: every one is
 * refused with 400 naming what was wrong, and the group stays unpromoted and undrilled. Only an
 * explicit {@code {"point": "latest"}} promotes. And {@code GET /metrics}: the families of before
 * and the latency histograms, valid Prometheus text.
 */
class ReceiverApiTest {

    private static final long VOLUME_BYTES = 1 << 20;

    /** Each body, and the error code it must get. */
    private static final Map<String, String> GARBAGE = Map.ofEntries(
            Map.entry("", "missing_body"),
            Map.entry("[]", "not_an_object"),
            Map.entry("[{\"point\": \"latest\"}]", "not_an_object"),
            Map.entry("null", "not_an_object"),
            Map.entry("\"latest\"", "not_an_object"),
            Map.entry("42", "not_an_object"),
            Map.entry("{}", "missing_field"),
            Map.entry("{\"name\": \"before-upgrade\"}", "unknown_field"),
            Map.entry("{\"point\": \"latest\", \"force\": true}", "unknown_field"),
            Map.entry("{\"point\": null}", "missing_field"),
            Map.entry("{\"point\": 5}", "bad_field"),
            Map.entry("{\"point\": true}", "bad_field"),
            Map.entry("{\"point\": [\"latest\"]}", "bad_field"),
            Map.entry("{\"point\": {\"id\": \"latest\"}}", "bad_field"),
            Map.entry("{\"point\": \"\"}", "bad_field"),
            Map.entry("{\"point\": \"latest\"", "bad_json"),
            Map.entry("{\"point\": \"latest\"} {}", "bad_json"),
            Map.entry("point=latest", "bad_json"));

    @TempDir
    static Path certs;

    private static EventLoopGroup clientLoop;
    private static TlsFiles hostA;

    @TempDir
    Path dir;

    private ReceiverNode node;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void issueCertificates() {
        hostA = ReceiverFixture.issueCertificates(certs);
        clientLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopClientLoop() {
        clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @BeforeEach
    void launch() throws Exception {
        String yaml = ReceiverFixture.receiverYaml(dir.resolve("data"), certs);
        node = ReceiverNode.launch(ReceiverConfig.load(Files.writeString(dir.resolve("receiver.yaml"), yaml)));
        try (TestAgentConnection agent = TestAgentConnection.connect(clientLoop, TlsContexts.client(hostA),
                node.replicationAddress())) {
            agent.hello(new Hello("host-a", 1, 1, List.of(new GroupHello("db", 5,
                    List.of(new VolumeInfo("db-data", VOLUME_BYTES))))));
            agent.send(delta());
            assertThat(agent.next()).isEqualTo(new Ack("db", 2));
        }
    }

    @AfterEach
    void close() {
        if (node != null) {
            node.close();
        }
    }

    private static ByteBuf delta() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("db", 1);
        for (long seq = 1; seq <= 2; seq++) {
            encoder.add(0, DeltaFormat.WRITE, (seq - 1) * 4096, 4096, seq, 1, ByteBuffer.wrap(new byte[4096]));
        }
        return encoder.encode(ByteBufAllocator.DEFAULT);
    }

    private HttpResponse<String> send(String method, String path, String body) throws Exception {
        InetSocketAddress address = node.apiAddress();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + address.getPort() + path))
                .header("Authorization", "Bearer " + Files.readString(node.apiTokenFile()).strip())
                .header("Content-Type", "application/json")
                .method(method, body.isEmpty() ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .timeout(Duration.ofSeconds(30))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private ApiClient api() {
        InetSocketAddress address = node.apiAddress();
        return new ApiClient(new HostPort(address.getHostString(), address.getPort()),
                ApiClient.readTokenFile(node.apiTokenFile()), Duration.ofSeconds(30));
    }

    private void assertRefused(String method, String path, String body, String code) throws Exception {
        HttpResponse<String> response = send(method, path, body);
        assertThat(response.statusCode()).as("%s %s with body <%s>", method, path, body).isEqualTo(400);
        JsonNode error = ApiJson.MAPPER.readTree(response.body());
        assertThat(error.get("error").asText()).as("code for <%s>", body).isEqualTo(code);
        assertThat(error.get("message").asText()).as("message for <%s>", body).isNotBlank();
        if (code.equals("unknown_field") || code.equals("missing_field") || code.equals("bad_field")) {
            assertThat(error.get("message").asText()).as("message for <%s> names the key", body)
                    .containsAnyOf("\"point\"", "\"name\"", "\"force\"");
        }
    }

    @Test
    void shouldRefuseEveryGarbagePromoteBodyAndLeaveTheGroupUnpromoted() throws Exception {
        for (Map.Entry<String, String> garbage : GARBAGE.entrySet()) {
            assertRefused("POST", "/v1/groups/db/promote", garbage.getKey(), garbage.getValue());
            assertThat(api().get("/v1/groups/db").get("state").asText()).as("after <%s>", garbage.getKey())
                    .isEqualTo("replicating");
        }
        assertThat(node.exports().names()).isEmpty();

        JsonNode promoted = api().post("/v1/groups/db/promote", Map.of("point", "latest"));
        assertThat(promoted.get("state").asText()).isEqualTo("promoted");
        assertThat(promoted.get("seq").asLong()).isEqualTo(2);
        assertThat(api().get("/v1/groups/db").get("state").asText()).isEqualTo("promoted");
    }

    @Test
    void shouldRefuseEveryGarbageDrillBodyAndABodyOnDrillStop() throws Exception {
        for (Map.Entry<String, String> garbage : GARBAGE.entrySet()) {
            assertRefused("POST", "/v1/groups/db/drill", garbage.getKey(), garbage.getValue());
            assertThat(api().get("/v1/groups/db").get("state").asText()).as("after <%s>", garbage.getKey())
                    .isEqualTo("replicating");
        }
        assertThat(node.exports().names()).isEmpty();

        api().post("/v1/groups/db/drill", Map.of("point", "latest"));
        assertThat(api().get("/v1/groups/db").get("state").asText()).isEqualTo("drill");
        assertRefused("DELETE", "/v1/groups/db/drill", "{\"point\": \"latest\"}", "unexpected_body");
        assertThat(api().get("/v1/groups/db").get("state").asText()).isEqualTo("drill");
        api().delete("/v1/groups/db/drill");
        assertThat(api().get("/v1/groups/db").get("state").asText()).isEqualTo("replicating");
    }

    @Test
    void shouldServeTheGaugesOfBeforeAndTheSyncApplyAndLagHistograms() throws Exception {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> api().get("/v1/groups/db").get("appliedSeq").asLong() == 2);
        String text = api().getText("/metrics");
        for (String name : new String[] {"ferry_receiver_received_seq", "ferry_receiver_durable_seq",
                "ferry_receiver_applied_seq", "ferry_receiver_lag_seconds", "ferry_receiver_received_bytes_total",
                "ferry_receiver_undo_bytes", "ferry_receiver_oldest_recoverable_seq", "ferry_receiver_connected",
                "ferry_receiver_group_state", "ferry_receiver_journal_sync_seconds",
                "ferry_receiver_apply_batch_seconds", "ferry_receiver_apply_lag_seconds"}) {
            assertThat(text).contains("# HELP " + name + " ").contains("# TYPE " + name + " ");
        }
        String labels = "{group=\"db\",agent=\"host-a\"";
        assertThat(text).contains("ferry_receiver_applied_seq" + labels + "} 2\n")
                .contains("ferry_receiver_group_state" + labels + ",state=\"replicating\"} 1\n")
                .contains("# TYPE ferry_receiver_apply_batch_seconds histogram\n")
                .containsPattern("ferry_receiver_journal_sync_seconds_count\\{group=\"db\",agent=\"host-a\"} [1-9]")
                .containsPattern("ferry_receiver_apply_batch_seconds_count\\{group=\"db\",agent=\"host-a\"} [1-9]")
                .containsPattern("ferry_receiver_apply_lag_seconds_count\\{group=\"db\",agent=\"host-a\"} [1-9]");

        Path promtool = Path.of("/usr/bin/promtool");
        if (Files.isExecutable(promtool)) {
            Path file = Files.writeString(dir.resolve("metrics.txt"), text);
            Process check = new ProcessBuilder(promtool.toString(), "check", "metrics")
                    .redirectInput(file.toFile()).redirectErrorStream(true).start();
            String output = new String(check.getInputStream().readAllBytes());
            assertThat(check.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(check.exitValue()).as(output).isZero();
        }
    }
}
