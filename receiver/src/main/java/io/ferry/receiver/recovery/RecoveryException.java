package io.ferry.receiver.recovery;

import java.util.Objects;

/**
 * A promote or drill refused for a reason the operator can act on: {@link #error()} says which
 * (a stable code), the message says what was wrong and what to do. Only the API layer turns it
 * into an HTTP answer.
 */
public final class RecoveryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final RecoveryError error;

    public RecoveryException(RecoveryError error, String message) {
        super(message);
        this.error = Objects.requireNonNull(error, "error");
    }

    public RecoveryError error() {
        return error;
    }

    /** The stable code ({@link RecoveryError#code()}). */
    public String code() {
        return error.code();
    }
}
