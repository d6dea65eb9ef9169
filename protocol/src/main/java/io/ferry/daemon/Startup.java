package io.ferry.daemon;

import java.io.IOException;

/**
 * How a daemon object starts (Aeron's {@code MediaDriver.launch}): its parts are started in
 * order, and when one fails everything already started is closed again before the failure is
 * rethrown, so a failed launch leaves no thread, listener or open file behind.
 */
public final class Startup {

    /** The starting of a daemon's parts. */
    @FunctionalInterface
    public interface Start {
        void start() throws IOException;
    }

    private Startup() {
    }

    /** Runs {@code start} and returns {@code node}; on failure closes {@code node} and rethrows. */
    public static <N extends AutoCloseable> N startOrClose(N node, Start start) throws IOException {
        try {
            start.start();
            return node;
        } catch (IOException | RuntimeException e) {
            try {
                node.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }
}
