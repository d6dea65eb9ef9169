package io.ferry.metrics;

/**
 * Where a component reports how long something took (an NBD write, a journal sync, an apply
 * batch). The component only holds this interface; the daemon that assembles it hands in a
 * {@link LatencyHistogram} of its {@link MetricsRegistry}, or leaves {@link #NOOP}.
 * Implementations are safe to call from any thread, do not allocate and never block.
 */
@FunctionalInterface
public interface LatencyRecorder {

    /** Records nothing. */
    LatencyRecorder NOOP = nanos -> {
    };

    /** Records one duration; negative values count as zero. */
    void recordNanos(long nanos);
}
