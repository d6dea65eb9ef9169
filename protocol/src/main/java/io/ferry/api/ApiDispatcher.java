package io.ferry.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a request into an {@link ApiReply}: the built-in routes, the bearer-token check, routing,
 * and the handler call on the handler executor. Stateless and shared by all connections.
 *
 * <p>Threads: {@link #dispatch} runs on a connection's event loop and does only cheap work there
 * (header checks, routing, copying at most the bounded body); JSON parsing, the handler, the
 * metrics supplier and serialization run on the handler executor. The reply callback is called
 * exactly once, on either thread.
 */
final class ApiDispatcher {

    private static final Logger log = LoggerFactory.getLogger(ApiDispatcher.class);
    private static final String BEARER = "Bearer ";

    private final String token;
    private final Routes routes;
    private final Executor handlerExecutor;

    ApiDispatcher(String token, Routes routes, Executor handlerExecutor) {
        this.token = token;
        this.routes = routes;
        this.handlerExecutor = handlerExecutor;
    }

    /** Answers {@code request} through {@code reply} and releases the request. */
    void dispatch(FullHttpRequest request, Consumer<ApiReply> reply) {
        try {
            dispatchOwned(request, reply);
        } finally {
            request.release();
        }
    }

    private void dispatchOwned(FullHttpRequest request, Consumer<ApiReply> reply) {
        if (request.decoderResult().isFailure()) {
            reply.accept(ApiReply.error(400, "bad_request", "malformed HTTP request: "
                    + request.decoderResult().cause().getMessage()).closing());
            return;
        }
        String method = request.method().name();
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String rawPath = uri.rawPath();
        List<String> segments;
        try {
            segments = segments(rawPath);
        } catch (IllegalArgumentException e) {
            reply.accept(ApiReply.error(400, "bad_path", "the request path is not validly percent-encoded"));
            return;
        }
        String path = "/" + String.join("/", segments);

        if (rawPath.equals("/healthz")) {
            reply.accept(method.equals("GET") ? healthy() : wrongMethod(method, path, "GET"));
            return;
        }
        if (rawPath.equals("/metrics")) {
            if (method.equals("GET")) {
                submit(reply, method, path, () -> ApiReply.text(200, ApiReply.PROMETHEUS_TEXT, routes.metrics().get()));
            } else {
                reply.accept(wrongMethod(method, path, "GET"));
            }
            return;
        }

        ApiReply unauthorized = checkToken(request.headers().get(HttpHeaderNames.AUTHORIZATION));
        if (unauthorized != null) {
            reply.accept(unauthorized);
            return;
        }

        Routes.Resolution resolution = routes.resolve(method, segments);
        if (resolution instanceof Routes.WrongMethod wrong) {
            reply.accept(wrongMethod(method, path, String.join(", ", wrong.allowed())));
            return;
        }
        if (!(resolution instanceof Routes.Found found)) {
            reply.accept(ApiReply.error(404, "not_found", "no API route " + method + " " + path));
            return;
        }
        for (Map.Entry<String, String> param : found.params().entrySet()) {
            if (!isSafeSegment(param.getValue())) {
                reply.accept(ApiReply.error(400, "bad_path", "path parameter {" + param.getKey()
                        + "} must not be \".\", \"..\" or contain / or NUL"));
                return;
            }
        }
        byte[] body = ByteBufUtil.getBytes(request.content());
        Map<String, List<String>> query = uri.parameters();
        submit(reply, method, path, () -> {
            JsonNode json;
            try {
                json = body.length == 0 ? MissingNode.getInstance() : ApiJson.MAPPER.readTree(body);
            } catch (JsonProcessingException e) {
                return ApiReply.error(400, "bad_json", "the request body is not valid JSON: " + e.getOriginalMessage());
            }
            if (json == null) {
                json = MissingNode.getInstance();
            }
            ApiResponse response = found.handler().handle(new ApiRequest(method, path, found.params(), query, json));
            if (response == null) {
                throw new IllegalStateException("the handler returned no response");
            }
            return ApiReply.json(response.status(), response.body());
        });
    }

    private interface Work {
        ApiReply run() throws Exception;
    }

    private void submit(Consumer<ApiReply> reply, String method, String path, Work work) {
        try {
            handlerExecutor.execute(() -> reply.accept(runSafely(method, path, work)));
        } catch (RejectedExecutionException e) {
            reply.accept(ApiReply.error(503, "busy", "the API server is busy or stopping; retry shortly")
                    .withHeader("Retry-After", "1"));
        }
    }

    private static ApiReply runSafely(String method, String path, Work work) {
        try {
            return work.run();
        } catch (ApiException e) {
            if (e.status() >= 500) {
                log.warn("API {} {} answered {} {}: {}", method, path, e.status(), e.code(), e.getMessage());
            }
            return ApiReply.error(e.status(), e.code(), String.valueOf(e.getMessage()));
        } catch (Exception | LinkageError | AssertionError e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            log.error("API {} {} failed", method, path, e);
            return ApiReply.error(500, "internal", "internal error while serving " + method + " " + path
                    + "; the daemon's log has the details");
        }
    }

    private static ApiReply healthy() {
        return ApiReply.text(200, ApiReply.JSON, "{\"status\":\"ok\"}");
    }

    private static ApiReply wrongMethod(String method, String path, String allowed) {
        return ApiReply.error(405, "method_not_allowed", path + " does not accept " + method + "; allowed: " + allowed)
                .withHeader("Allow", allowed);
    }

    /** Null when the header carries the token, else the 401 reply. */
    private ApiReply checkToken(String authorization) {
        if (authorization == null || authorization.length() < BEARER.length()
                || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return ApiReply.error(401, "unauthorized", "this endpoint needs 'Authorization: Bearer <token>' with "
                            + "the content of the daemon's <dataDir>/api.token")
                    .withHeader("WWW-Authenticate", "Bearer realm=\"ferry\"");
        }
        String presented = authorization.substring(BEARER.length()).trim();
        if (!ApiToken.matches(token, presented)) {
            return ApiReply.error(401, "unauthorized", "the bearer token is wrong; use the content of the "
                            + "daemon's <dataDir>/api.token")
                    .withHeader("WWW-Authenticate", "Bearer realm=\"ferry\", error=\"invalid_token\"");
        }
        return null;
    }

    /**
     * The path's segments, each percent-decoded on its own so an encoded {@code /} stays inside
     * its segment; {@code +} is literal in a path.
     */
    static List<String> segments(String rawPath) {
        if (!rawPath.startsWith("/")) {
            return List.of(rawPath);
        }
        String[] parts = rawPath.substring(1).split("/", -1);
        List<String> segments = new ArrayList<>(parts.length);
        for (String part : parts) {
            segments.add(QueryStringDecoder.decodeComponent(part.replace("+", "%2B"), StandardCharsets.UTF_8));
        }
        return segments;
    }

    private static boolean isSafeSegment(String value) {
        return !value.equals(".") && !value.equals("..") && value.indexOf('/') < 0 && value.indexOf('\0') < 0;
    }
}
