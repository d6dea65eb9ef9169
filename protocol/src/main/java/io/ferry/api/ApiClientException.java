package io.ferry.api;

/**
 * A management API call that failed: the daemon could not be reached ({@link #status()} 0) or
 * answered an error status. The message is meant for the operator as is.
 */
public final class ApiClientException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;

    public ApiClientException(int status, String code, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.code = code;
    }

    /** The HTTP status the daemon answered, or 0 when there was no answer. */
    public int status() {
        return status;
    }

    /** The daemon's error code (e.g. {@code unauthorized}, {@code unknown_group}), or null. */
    public String code() {
        return code;
    }
}
