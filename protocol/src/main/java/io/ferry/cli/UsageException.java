package io.ferry.cli;

/**
 * A command-line mistake found after parsing (a bad {@code --group}, a bad {@code --api}
 * address): the command prints the message and exits 2, like picocli's own parameter errors.
 */
public final class UsageException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
