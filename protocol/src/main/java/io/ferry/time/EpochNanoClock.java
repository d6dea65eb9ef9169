package io.ferry.time;

/**
 * Wall-clock time in nanoseconds since the epoch, injected wherever ferry stamps or ages
 * something (capture times, lag, recovery points) so tests can drive time.
 */
@FunctionalInterface
public interface EpochNanoClock {

    long epochNanos();

    /**
     * The system clock at nanosecond resolution: the epoch is read once, later readings advance
     * with {@link System#nanoTime()}, so stamps are monotonic and cost no allocation.
     */
    static EpochNanoClock system() {
        long baseEpochNanos = System.currentTimeMillis() * 1_000_000L;
        long baseNanoTime = System.nanoTime();
        return () -> baseEpochNanos + (System.nanoTime() - baseNanoTime);
    }
}
