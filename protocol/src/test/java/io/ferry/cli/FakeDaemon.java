package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiJson;
import io.ferry.api.ApiRequest;
import io.ferry.api.ApiResponse;
import io.ferry.api.ApiServer;
import io.ferry.api.ApiToken;
import io.ferry.api.Routes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * An {@link ApiServer} on loopback with a real token file, serving a canned {@code /v1/status}
 * and recording every request to the group routes the client commands call.
 */
final class FakeDaemon implements AutoCloseable {

    final List<ApiRequest> requests = new CopyOnWriteArrayList<>();
    final Path tokenFile;
    private final ApiServer server;

    FakeDaemon(Path dataDir, String statusJson) {
        this(dataDir, statusJson, request -> ApiResponse.ok(java.util.Map.of("ok", true)));
    }

    FakeDaemon(Path dataDir, String statusJson, Function<ApiRequest, ApiResponse> groupAction) {
        String token = ApiToken.loadOrCreate(dataDir);
        tokenFile = dataDir.resolve(ApiToken.FILE_NAME);
        JsonNode status = parse(statusJson);
        Routes routes = Routes.builder()
                .get("/v1/status", request -> ApiResponse.ok(status))
                .post("/v1/groups/{g}/promote", request -> record(request, groupAction))
                .post("/v1/groups/{g}/drill", request -> record(request, groupAction))
                .delete("/v1/groups/{g}/drill", request -> record(request, groupAction))
                .post("/v1/groups/{g}/bookmarks", request -> record(request, groupAction))
                .build();
        server = ApiServer.start(new InetSocketAddress("127.0.0.1", 0), token, routes);
    }

    private ApiResponse record(ApiRequest request, Function<ApiRequest, ApiResponse> action) {
        requests.add(request);
        return action.apply(request);
    }

    String api() {
        return "127.0.0.1:" + server.address().getPort();
    }

    static JsonNode parse(String json) {
        try {
            return ApiJson.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        server.close();
    }

    /** Captures a command's stdout and stderr. */
    static final class Console {
        private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
        private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
        final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

        String out() {
            return outBytes.toString(StandardCharsets.UTF_8);
        }

        String err() {
            return errBytes.toString(StandardCharsets.UTF_8);
        }
    }
}
