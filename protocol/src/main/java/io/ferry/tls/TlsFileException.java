package io.ferry.tls;

import java.nio.file.Path;

/**
 * A certificate, key or CA directory that a user pointed ferry at and that cannot be used:
 * missing, unreadable, not the expected PEM content, not matching its partner, or (when
 * writing) already there. The message names the file and says what to do; commands map it to
 * exit code 2 (bad input), daemons to a configuration error.
 */
public final class TlsFileException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;

    public TlsFileException(Path file, String detail) {
        super(file + ": " + detail);
        this.file = file;
    }

    public TlsFileException(Path file, String detail, Throwable cause) {
        this(file, detail);
        initCause(cause);
    }

    /** The offending file or directory. */
    public Path file() {
        return file;
    }
}
