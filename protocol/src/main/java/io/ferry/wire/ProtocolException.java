package io.ferry.wire;

/**
 * The peer sent something the replication protocol does not allow. The session that received
 * it answers with an {@link ErrorMessage} carrying {@link #code()} and this message, logs it
 * and closes; nothing of the offending frame reaches a replica.
 *
 * <p>{@link FrameDecoder} fires it unwrapped through {@code exceptionCaught}; the message
 * decoders ({@code decode} methods of the message records and of the delta codec) throw it.
 */
public final class ProtocolException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public ProtocolException(ErrorCode code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }

    /** The first ProtocolException in the cause chain of {@code t} (e.g. in a Netty DecoderException), or null. */
    public static ProtocolException find(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ProtocolException pe) {
                return pe;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return null;
    }
}
