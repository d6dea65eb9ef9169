package io.ferry.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ApiServerTest {

    private static final String TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private final CountDownLatch slowEntered = new CountDownLatch(1);
    private final CountDownLatch slowRelease = new CountDownLatch(1);
    private final AtomicReference<ApiRequest> seen = new AtomicReference<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private ApiServer server;

    @BeforeEach
    void start() {
        Routes routes = Routes.builder()
                .get("/v1/status", request -> ApiResponse.ok(Map.of("id", "host-a")))
                .post("/v1/groups/{g}/promote", request -> {
                    seen.set(request);
                    Map<String, Object> body = new LinkedHashMap<>();
                    body.put("group", request.param("g"));
                    body.put("point", request.body().path("point").asText("none"));
                    return ApiResponse.ok(body);
                })
                .delete("/v1/groups/{g}/drill", request -> ApiResponse.noContent())
                .get("/v1/groups/all/points", request -> ApiResponse.ok(Map.of("route", "literal")))
                .get("/v1/groups/{g}/points", request -> ApiResponse.ok(Map.of("route", "param")))
                .get("/v1/boom", request -> {
                    throw new IllegalStateException("secret internal detail");
                })
                .get("/v1/conflict", request -> {
                    throw ApiException.conflict("group db is already promoted");
                })
                .get("/v1/slow", request -> {
                    slowEntered.countDown();
                    assertThat(slowRelease.await(30, TimeUnit.SECONDS)).isTrue();
                    return ApiResponse.ok(Map.of("slow", true));
                })
                .metrics(() -> "# TYPE ferry_lag_seconds gauge\nferry_lag_seconds{group=\"db\"} 0.5\n")
                .build();
        server = ApiServer.start(new InetSocketAddress("127.0.0.1", 0), TOKEN, routes);
    }

    @AfterEach
    void stop() {
        slowRelease.countDown();
        server.close();
    }

    @Test
    void shouldAnswerHealthzWithoutToken() throws Exception {
        HttpResponse<String> response = send(request("/healthz").GET());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(json(response)).isEqualTo(ApiJson.MAPPER.readTree("{\"status\":\"ok\"}"));
    }

    @Test
    void shouldServeMetricsAsPrometheusTextWithoutToken() throws Exception {
        HttpResponse<String> response = send(request("/metrics").GET());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("text/plain; version=0.0.4"));
        assertThat(response.body()).contains("ferry_lag_seconds{group=\"db\"} 0.5");
    }

    @Test
    void shouldRefuseRequestWithoutTokenWith401JsonAndBearerChallenge() throws Exception {
        HttpResponse<String> response = send(request("/v1/status").GET());

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(
                value -> assertThat(value).startsWith("Bearer"));
        assertThat(json(response).path("error").asText()).isEqualTo("unauthorized");
        assertThat(json(response).path("message").asText()).contains("api.token");
    }

    @Test
    void shouldRefuseWrongTokenWith401() throws Exception {
        HttpResponse<String> response = send(request("/v1/status").header("Authorization", "Bearer " + TOKEN + "0").GET());

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(
                value -> assertThat(value).contains("invalid_token"));
        assertThat(json(response).path("error").asText()).isEqualTo("unauthorized");
    }

    @Test
    void shouldRefuseOtherAuthorizationSchemes() throws Exception {
        HttpResponse<String> response = send(request("/v1/status").header("Authorization", "Basic " + TOKEN).GET());

        assertThat(response.statusCode()).isEqualTo(401);
    }

    @Test
    void shouldNotRevealRoutesWithoutToken() throws Exception {
        assertThat(send(request("/v1/nothing-here").GET()).statusCode()).isEqualTo(401);
    }

    @Test
    void shouldServeRouteWithTokenAcceptingAnyCaseOfBearer() throws Exception {
        HttpResponse<String> response = send(request("/v1/status").header("Authorization", "bearer " + TOKEN).GET());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(json(response).path("id").asText()).isEqualTo("host-a");
    }

    @Test
    void shouldPassPathParamsAndJsonBodyToHandler() throws Exception {
        HttpResponse<String> response = send(authorized("/v1/groups/db-1/promote")
                .POST(HttpRequest.BodyPublishers.ofString("{\"point\":\"latest\"}")));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(json(response)).isEqualTo(ApiJson.MAPPER.readTree("{\"group\":\"db-1\",\"point\":\"latest\"}"));
        assertThat(seen.get().pathParams()).containsExactly(Map.entry("g", "db-1"));
        assertThat(seen.get().method()).isEqualTo("POST");
    }

    @Test
    void shouldGiveHandlerAMissingBodyWhenRequestHasNone() throws Exception {
        HttpResponse<String> response = send(authorized("/v1/groups/db/promote")
                .POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(json(response).path("point").asText()).isEqualTo("none");
        assertThat(seen.get().body().isMissingNode()).isTrue();
    }

    @Test
    void shouldDecodePercentEncodedParamsAndQuery() throws Exception {
        send(authorized("/v1/groups/a%20b+c/promote?dry=1").POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(seen.get().param("g")).isEqualTo("a b+c");
        assertThat(seen.get().query("dry")).isEqualTo("1");
    }

    @Test
    void shouldRefuseParamsThatWouldEscapeAPath() throws Exception {
        HttpResponse<String> slash = send(authorized("/v1/groups/a%2Fb/promote").POST(HttpRequest.BodyPublishers.noBody()));
        HttpResponse<String> dots = send(authorized("/v1/groups/%2E%2E/promote").POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(slash.statusCode()).isEqualTo(400);
        assertThat(json(slash).path("error").asText()).isEqualTo("bad_path");
        assertThat(dots.statusCode()).isEqualTo(400);
        assertThat(seen.get()).isNull();
    }

    @Test
    void shouldPreferLiteralSegmentOverParameter() throws Exception {
        assertThat(json(send(authorized("/v1/groups/all/points").GET())).path("route").asText()).isEqualTo("literal");
        assertThat(json(send(authorized("/v1/groups/db/points").GET())).path("route").asText()).isEqualTo("param");
    }

    @Test
    void shouldAnswer204WithoutBody() throws Exception {
        HttpResponse<String> response = send(authorized("/v1/groups/db/drill").DELETE());

        assertThat(response.statusCode()).isEqualTo(204);
        assertThat(response.body()).isEmpty();
    }

    @Test
    void shouldAnswer404JsonForUnknownPath() throws Exception {
        HttpResponse<String> unknown = send(authorized("/v1/nothing-here").GET());
        HttpResponse<String> trailingSlash = send(authorized("/v1/status/").GET());

        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown).path("error").asText()).isEqualTo("not_found");
        assertThat(json(unknown).path("message").asText()).contains("GET /v1/nothing-here");
        assertThat(trailingSlash.statusCode()).isEqualTo(404);
    }

    @Test
    void shouldAnswer405WithAllowForKnownPathWithAnotherMethod() throws Exception {
        HttpResponse<String> route = send(authorized("/v1/groups/db/promote").GET());
        HttpResponse<String> healthz = send(request("/healthz").POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(route.statusCode()).isEqualTo(405);
        assertThat(route.headers().firstValue("Allow")).hasValue("POST");
        assertThat(json(route).path("error").asText()).isEqualTo("method_not_allowed");
        assertThat(healthz.statusCode()).isEqualTo(405);
        assertThat(healthz.headers().firstValue("Allow")).hasValue("GET");
    }

    @Test
    void shouldAnswer400ForBadJson() throws Exception {
        HttpResponse<String> response = send(authorized("/v1/groups/db/promote")
                .POST(HttpRequest.BodyPublishers.ofString("{\"point\": ")));
        HttpResponse<String> trailing = send(authorized("/v1/groups/db/promote")
                .POST(HttpRequest.BodyPublishers.ofString("{} {}")));

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(json(response).path("error").asText()).isEqualTo("bad_json");
        assertThat(trailing.statusCode()).isEqualTo(400);
        assertThat(seen.get()).isNull();
    }

    @Test
    void shouldAnswer413ForBodyOverTheLimitAndKeepServing() throws Exception {
        byte[] big = new byte[ApiServer.MAX_BODY_BYTES + 1];
        java.util.Arrays.fill(big, (byte) ' ');

        HttpResponse<String> response = send(authorized("/v1/groups/db/promote")
                .POST(HttpRequest.BodyPublishers.ofByteArray(big)));

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(json(response).path("error").asText()).isEqualTo("body_too_large");
        assertThat(seen.get()).isNull();
        assertThat(send(authorized("/v1/status").GET()).statusCode()).isEqualTo(200);
    }

    @Test
    void shouldAnswer413ForChunkedBodyOverTheLimit() throws Exception {
        byte[] big = new byte[ApiServer.MAX_BODY_BYTES * 2];
        java.util.Arrays.fill(big, (byte) ' ');

        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/groups/db/promote HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            try {
                out.write((Integer.toHexString(big.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(big);
                out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (java.net.SocketException e) {
                // the server may answer and close while the rest of the body is still on its way (a
                // busy machine): the answer is in the socket's receive buffer all the same
            }

            String response = readResponses(socket.getInputStream(), 1);
            assertThat(response).startsWith("HTTP/1.1 413");
            assertThat(response).contains("body_too_large");
        }
        assertThat(seen.get()).isNull();
    }

    @Test
    void shouldAnswer500JsonWithoutStackTraceWhenHandlerThrows() throws Exception {
        HttpResponse<String> response = send(authorized("/v1/boom").GET());

        assertThat(response.statusCode()).isEqualTo(500);
        assertThat(json(response).path("error").asText()).isEqualTo("internal");
        assertThat(response.body()).doesNotContain("secret internal detail", "Exception", "at io.ferry");
    }

    @Test
    void shouldAnswerApiExceptionWithItsStatusCodeAndMessage() throws Exception {
        HttpResponse<String> response = send(authorized("/v1/conflict").GET());

        assertThat(response.statusCode()).isEqualTo(409);
        assertThat(json(response)).isEqualTo(ApiJson.MAPPER.readTree(
                "{\"error\":\"conflict\",\"message\":\"group db is already promoted\"}"));
    }

    @Test
    void shouldAnswerHealthzWhileAHandlerIsSlow() throws Exception {
        CompletableFuture<HttpResponse<String>> slow = http.sendAsync(authorized("/v1/slow").GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(slowEntered.await(10, TimeUnit.SECONDS)).isTrue();

        assertThat(send(request("/healthz").GET()).statusCode()).isEqualTo(200);
        assertThat(send(authorized("/v1/status").GET()).statusCode()).isEqualTo(200);
        assertThat(slow).isNotDone();

        slowRelease.countDown();
        assertThat(slow.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }

    @Test
    void shouldAnswerPipelinedRequestsInRequestOrder() throws Exception {
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            out.write(("GET /v1/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN + "\r\n\r\n"
                    + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(slowEntered.await(10, TimeUnit.SECONDS)).isTrue();
            slowRelease.countDown();

            String responses = readResponses(socket.getInputStream(), 2);
            assertThat(responses.indexOf("{\"slow\":true}")).isNotNegative()
                    .isLessThan(responses.indexOf("{\"status\":\"ok\"}"));
        }
    }

    @Test
    void shouldKeepTheConnectionAliveBetweenRequests() throws Exception {
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(readResponses(in, 1)).startsWith("HTTP/1.1 200");

            out.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(readResponses(in, 1)).startsWith("HTTP/1.1 200");
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @Test
    void shouldAnswer400AndCloseForMalformedRequest() throws Exception {
        try (Socket socket = connect()) {
            socket.getOutputStream().write("NOT HTTP AT ALL\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();

            byte[] all = socket.getInputStream().readAllBytes();
            assertThat(new String(all, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 400");
        }
    }

    @Test
    void shouldReportThePortItBound() {
        assertThat(server.address().getPort()).isPositive();
        assertThat(server.address().getAddress().isLoopbackAddress()).isTrue();
    }

    @Test
    void shouldRefuseToStartOnAnAddressInUse() {
        assertThatThrownBy(() -> ApiServer.start(server.address(), TOKEN, Routes.none()))
                .hasMessageContaining("cannot listen for the management API on");
    }

    @Test
    void shouldRefuseAShortToken() {
        assertThatThrownBy(() -> ApiServer.start(new InetSocketAddress("127.0.0.1", 0), "short", Routes.none()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket(server.address().getAddress(), server.address().getPort());
        socket.setSoTimeout(10_000);
        return socket;
    }

    /** Reads {@code count} responses with Content-Length bodies off a raw connection. */
    private static String readResponses(InputStream in, int count) throws IOException {
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < count; i++) {
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("connection closed after: " + all + head);
                }
                head.append((char) b);
            }
            int length = 0;
            for (String line : head.toString().split("\r\n")) {
                if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(15).trim());
                }
            }
            all.append(head).append(new String(in.readNBytes(length), StandardCharsets.UTF_8));
        }
        return all.toString();
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort() + path));
    }

    private HttpRequest.Builder authorized(String path) {
        return request(path).header("Authorization", "Bearer " + TOKEN);
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        return ApiJson.MAPPER.readTree(response.body());
    }
}
