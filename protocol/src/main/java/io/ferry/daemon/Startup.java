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

    /** The opening of a component's parts, which returns the component. */
    @FunctionalInterface
    public interface Open<T> {
        T open() throws IOException;
    }

    private Startup() {
    }

    /** Runs {@code start} and returns {@code node}; on failure closes {@code node} and rethrows. */
    public static <N extends AutoCloseable> N startOrClose(N node, Start start) throws IOException {
        return openOrClose(node, () -> {
            start.start();
            return node;
        });
    }

    /** Returns what {@code open} opened; on failure closes {@code cleanup} (what was opened so far) and rethrows. */
    public static <T> T openOrClose(AutoCloseable cleanup, Open<T> open) throws IOException {
        try {
            return open.open();
        } catch (IOException | RuntimeException e) {
            try {
                cleanup.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }
}
