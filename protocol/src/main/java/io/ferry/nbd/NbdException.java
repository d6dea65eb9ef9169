package io.ferry.nbd;

import java.io.IOException;

/**
 * A failure reported by an NBD server: an error reply to a command ({@link #errno()} is one of
 * {@link NbdErrors}), or a refused or malformed negotiation ({@link #errno()} is 0).
 */
public final class NbdException extends IOException {

    private final int errno;

    public NbdException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** The NBD error number of a failed command, or 0 for a negotiation or protocol failure. */
    public int errno() {
        return errno;
    }
}
