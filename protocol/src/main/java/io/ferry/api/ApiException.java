package io.ferry.api;

/**
 * A failure a handler reports to the API client: the server answers {@code status} with
 * {@code {"error": code, "message": message}}. {@code code} is stable (e.g. {@code unknown_group},
 * {@code not_promoted}) so scripts can branch on it; the message tells a person what was wrong and
 * what to do.
 */
public class ApiException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;

    /**
     * @param status an HTTP status from 400 to 599
     * @param code   a stable machine-readable code, e.g. {@code unknown_group}
     * @param message what went wrong, for a person
     */
    public ApiException(int status, String code, String message) {
        super(message);
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("an API error status must be 400..599, got " + status);
        }
        if (code == null || code.isEmpty()) {
            throw new IllegalArgumentException("an API error needs a code");
        }
        this.status = status;
        this.code = code;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    /** 400 with code {@code bad_request}. */
    public static ApiException badRequest(String message) {
        return new ApiException(400, "bad_request", message);
    }

    /** 404 with code {@code not_found}. */
    public static ApiException notFound(String message) {
        return new ApiException(404, "not_found", message);
    }

    /** 409 with code {@code conflict}: the request is valid but not in the current state. */
    public static ApiException conflict(String message) {
        return new ApiException(409, "conflict", message);
    }
}
