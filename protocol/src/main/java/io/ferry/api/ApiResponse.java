package io.ferry.api;

/**
 * What a handler answers: an HTTP status and a body that Jackson serializes to JSON (a record, a
 * map, a {@code JsonNode}...). A null body sends no content (use it with 204).
 */
public record ApiResponse(int status, Object body) {

    public ApiResponse {
        if (status < 100 || status > 599) {
            throw new IllegalArgumentException("HTTP status must be 100..599, got " + status);
        }
    }

    /** 200 with {@code body}. */
    public static ApiResponse ok(Object body) {
        return new ApiResponse(200, body);
    }

    /** 201 with {@code body}. */
    public static ApiResponse created(Object body) {
        return new ApiResponse(201, body);
    }

    /** 202 with {@code body}: accepted, the work continues after the reply. */
    public static ApiResponse accepted(Object body) {
        return new ApiResponse(202, body);
    }

    /** 204 without a body. */
    public static ApiResponse noContent() {
        return new ApiResponse(204, null);
    }
}
