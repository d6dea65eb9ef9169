package io.ferry.log;

/**
 * A log's files could not be read, written or synced, or what is on disk is not a log ferry can
 * continue (a gap between files, another owner's log, a log already open). The message names
 * the directory and what to do.
 */
public class LogException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public LogException(String message) {
        super(message);
    }

    public LogException(String message, Throwable cause) {
        super(message, cause);
    }
}
