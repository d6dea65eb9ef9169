package io.ferry.capture.ship;

import java.util.function.LongUnaryOperator;

/**
 * Capped exponential backoff with jitter for reconnecting to the receiver: the first retry after
 * {@link #MIN_DELAY_MS} plus up to half of it again, each later one twice the base of the one
 * before, the base capped at {@link #MAX_DELAY_MS}; a session that reached HELLO_ACK starts the
 * sequence over. Owned by the link's event loop.
 */
final class ReconnectBackoff {
    static final long MIN_DELAY_MS = 100;
    static final long MAX_DELAY_MS = 5_000;

    private final LongUnaryOperator jitter;
    private long baseMs = MIN_DELAY_MS;

    /** @param jitter given a bound, returns a value in {@code [0, bound)} (random in the daemon) */
    ReconnectBackoff(LongUnaryOperator jitter) {
        this.jitter = jitter;
    }

    /** The delay before the next connection attempt; each call backs off further. */
    long nextDelayMs() {
        long delayMs = baseMs + jitter.applyAsLong(baseMs / 2 + 1);
        baseMs = Math.min(MAX_DELAY_MS, baseMs * 2);
        return delayMs;
    }

    /** The receiver answered: the next loss retries quickly again. */
    void reset() {
        baseMs = MIN_DELAY_MS;
    }
}
