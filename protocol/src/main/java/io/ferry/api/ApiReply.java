package io.ferry.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fully serialized answer, made on whichever thread finished the request and turned into a
 * Netty response on the connection's event loop.
 *
 * @param closeAfter close the connection once it is written (malformed or oversized request)
 */
record ApiReply(int status, String contentType, byte[] body, Map<String, String> headers, boolean closeAfter) {

    static final String JSON = "application/json";
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    static ApiReply json(int status, Object body) throws JsonProcessingException {
        byte[] bytes = body == null ? new byte[0] : ApiJson.MAPPER.writeValueAsBytes(body);
        return new ApiReply(status, body == null ? null : JSON, bytes, Map.of(), false);
    }

    static ApiReply text(int status, String contentType, String body) {
        return new ApiReply(status, contentType, body.getBytes(StandardCharsets.UTF_8), Map.of(), false);
    }

    /** {@code {"error": code, "message": message}}; cannot fail. */
    static ApiReply error(int status, String code, String message) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("error", code);
        body.put("message", message);
        try {
            return json(status, body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize an error body", e);
        }
    }

    ApiReply withHeader(String name, String value) {
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new ApiReply(status, contentType, body, Map.copyOf(more), closeAfter);
    }

    ApiReply closing() {
        return new ApiReply(status, contentType, body, headers, true);
    }

    FullHttpResponse toResponse() {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(body));
        if (contentType != null) {
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        response.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        headers.forEach(response.headers()::set);
        return response;
    }
}
