package io.ferry.capture.journal;

/**
 * The journal's files could not be read, written or synced, or what is on disk is not a journal
 * ferry can continue (a gap between segments, another group's journal, a journal already open).
 * The message names the directory and what to do.
 */
public final class JournalException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public JournalException(String message) {
        super(message);
    }

    public JournalException(String message, Throwable cause) {
        super(message, cause);
    }
}
