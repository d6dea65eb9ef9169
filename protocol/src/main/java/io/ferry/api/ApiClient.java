package io.ferry.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.ferry.config.ConfigException;
import io.ferry.config.HostPort;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * A client of a daemon's management API (what {@code ferry status}, {@code promote},
 * {@code drill} and {@code bookmark} use). Thread-safe; calls block until the daemon answers or
 * the request timeout passes.
 */
public final class ApiClient {

    /** Long enough for a promote, which waits until the replica is consistent. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofMinutes(5);
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

    private final HostPort target;
    private final String token;
    private final Duration requestTimeout;
    private final URI base;
    private final HttpClient http;

    /**
     * @param hostPort the daemon's {@code api.listen}, e.g. {@code 127.0.0.1:9400}
     * @param token    its bearer token
     * @throws IllegalArgumentException when {@code hostPort} is not HOST:PORT
     */
    public ApiClient(String hostPort, String token) {
        this(HostPort.parse(hostPort), token, DEFAULT_REQUEST_TIMEOUT);
    }

    public ApiClient(HostPort target, String token, Duration requestTimeout) {
        this.target = Objects.requireNonNull(target, "target");
        this.token = Objects.requireNonNull(token, "token");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        try {
            this.base = new URI("http", null, target.host(), target.port(), null, null, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("\"" + target + "\" is not a usable API address: " + e.getMessage(), e);
        }
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /**
     * Reads a token file as {@code --token-file} names it: its content, trimmed.
     *
     * @throws ConfigException naming the file when it is missing, unreadable or empty
     */
    public static String readTokenFile(Path tokenFile) {
        String token;
        try {
            token = Files.readString(tokenFile, StandardCharsets.US_ASCII).trim();
        } catch (NoSuchFileException e) {
            throw ConfigException.ofFile(tokenFile, "token file not found; pass the daemon's <dataDir>/api.token", e);
        } catch (IOException | RuntimeException e) {
            throw ConfigException.ofFile(tokenFile, "cannot read the token file: " + e.getMessage(), e);
        }
        if (token.isEmpty()) {
            throw ConfigException.ofFile(tokenFile, "the token file is empty; pass the daemon's <dataDir>/api.token",
                    null);
        }
        return token;
    }

    /** The daemon address this client talks to. */
    public HostPort target() {
        return target;
    }

    /** GET {@code path} (e.g. {@code /v1/status}); the JSON answer, {@code MissingNode} when empty. */
    public JsonNode get(String path) {
        return json(send(request(path).GET()));
    }

    /** GET {@code path} as text (e.g. {@code /metrics}). */
    public String getText(String path) {
        return send(request(path).GET());
    }

    /** POST {@code body} serialized as JSON (null: no body) to {@code path}. */
    public JsonNode post(String path, Object body) {
        byte[] bytes;
        try {
            bytes = body == null ? new byte[0] : ApiJson.MAPPER.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialize the request body: " + e.getOriginalMessage(), e);
        }
        return json(send(request(path).header("Content-Type", ApiReply.JSON)
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))));
    }

    /** DELETE {@code path}. */
    public JsonNode delete(String path) {
        return json(send(request(path).DELETE()));
    }

    private HttpRequest.Builder request(String path) {
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("API path must start with /: " + path);
        }
        return HttpRequest.newBuilder(base.resolve(path))
                .timeout(requestTimeout)
                .header("Authorization", "Bearer " + token)
                .header("Accept", ApiReply.JSON);
    }

    private String send(HttpRequest.Builder builder) {
        HttpRequest request = builder.build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiClientException(0, null, "interrupted while calling the ferry API at " + target, e);
        } catch (HttpConnectTimeoutException e) {
            throw new ApiClientException(0, null, "cannot reach ferry API at " + target + ": no connection within "
                    + CONNECT_TIMEOUT.toSeconds() + " s; is the daemon running and is --api right?", e);
        } catch (HttpTimeoutException e) {
            throw new ApiClientException(0, null, "ferry API at " + target + " did not answer "
                    + request.method() + " " + request.uri().getPath() + " within " + requestTimeout.toSeconds()
                    + " s", e);
        } catch (IOException e) {
            String reason = hasCause(e, ConnectException.class) ? "connection refused" : String.valueOf(e.getMessage());
            throw new ApiClientException(0, null, "cannot reach ferry API at " + target + " (" + reason
                    + "); is the daemon running and is --api right?", e);
        }
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
            return response.body();
        }
        throw failure(request, status, response.body());
    }

    private ApiClientException failure(HttpRequest request, int status, String body) {
        String code = null;
        String message = null;
        try {
            JsonNode error = ApiJson.MAPPER.readTree(body);
            if (error != null && error.isObject()) {
                code = error.path("error").isTextual() ? error.get("error").asText() : null;
                message = error.path("message").isTextual() ? error.get("message").asText() : null;
            }
        } catch (JsonProcessingException notJson) {
            // an answer from something that is not ferry; quote it below
        }
        if (message == null) {
            String text = body == null ? "" : body.strip();
            message = text.isEmpty() ? "(no message)" : text.length() > 200 ? text.substring(0, 200) + "..." : text;
        }
        return new ApiClientException(status, code, "ferry API at " + target + " refused " + request.method() + " "
                + request.uri().getPath() + ": " + status + (code == null ? "" : " " + code) + ": " + message, null);
    }

    private JsonNode json(String body) {
        if (body == null || body.isBlank()) {
            return MissingNode.getInstance();
        }
        try {
            return ApiJson.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new ApiClientException(0, null, "ferry API at " + target + " answered something that is not JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
