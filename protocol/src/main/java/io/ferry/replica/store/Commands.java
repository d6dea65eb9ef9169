package io.ferry.replica.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** Waiting for a command handed to a group's applier, rethrowing what it threw. */
final class Commands {
    private Commands() {
    }

    /**
     * Waits for {@code result} and returns its value; an IOException, a RuntimeException or an
     * Error of the command is rethrown as it was.
     *
     * @throws IllegalStateException if the waiting thread is interrupted (its flag is kept)
     */
    static <T> T await(CompletableFuture<T> result) throws IOException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return result.get();
                } catch (InterruptedException e) {
                    // The command runs anyway (a rollback is never abandoned half way): wait it out.
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof IOException io) {
                        throw io;
                    }
                    if (cause instanceof UncheckedIOException io) {
                        throw io.getCause();
                    }
                    if (cause instanceof RuntimeException runtime) {
                        throw runtime;
                    }
                    if (cause instanceof Error error) {
                        throw error;
                    }
                    throw new IllegalStateException(cause.toString(), cause);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
