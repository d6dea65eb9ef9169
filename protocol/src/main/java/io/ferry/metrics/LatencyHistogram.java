package io.ferry.metrics;

import io.ferry.time.EpochNanoClock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A latency distribution over an HdrHistogram {@link Recorder}: writers on any thread record
 * wait-free and without allocation; a scrape folds what was recorded since the last one into a
 * cumulative histogram (since the daemon started) under this object's monitor, which only
 * scrapes take. Durations are nanoseconds, kept to two significant digits from 1 µs to one hour;
 * a longer one counts as one hour. The exact sum is kept beside the histogram.
 */
public final class LatencyHistogram implements LatencyRecorder {

    static final long HIGHEST_TRACKABLE_NANOS = TimeUnit.HOURS.toNanos(1);
    private static final long LOWEST_DISCERNIBLE_NANOS = 1_000;
    private static final int SIGNIFICANT_DIGITS = 2;

    private final Recorder recorder = new Recorder(LOWEST_DISCERNIBLE_NANOS, HIGHEST_TRACKABLE_NANOS,
            SIGNIFICANT_DIGITS);
    private final LongAdder sumNanos = new LongAdder();

    // Guarded by this; only scrapes touch them.
    private final Histogram total = new Histogram(LOWEST_DISCERNIBLE_NANOS, HIGHEST_TRACKABLE_NANOS,
            SIGNIFICANT_DIGITS);
    private Histogram interval;

    @Override
    public void recordNanos(long nanos) {
        long value = nanos < 0 ? 0 : Math.min(nanos, HIGHEST_TRACKABLE_NANOS);
        recorder.recordValue(value);
        sumNanos.add(value);
    }

    /**
     * A recorder of event ages: given an event's epoch-nanosecond timestamp, records how long ago
     * it was by {@code clock} (e.g. a write's capture time when it reaches the replica).
     */
    public LongConsumer ageSince(EpochNanoClock clock) {
        return epochNanos -> recordNanos(clock.epochNanos() - epochNanos);
    }

    /** Everything recorded so far, as cumulative counts at {@code boundsNanos} (ascending). */
    public synchronized Snapshot snapshot(long[] boundsNanos) {
        interval = recorder.getIntervalHistogram(interval);
        total.add(interval);
        long[] counts = new long[boundsNanos.length];
        for (int i = 0; i < boundsNanos.length; i++) {
            counts[i] = total.getCountBetweenValues(0, boundsNanos[i]);
        }
        return new Snapshot(counts, total.getTotalCount(), sumNanos.sum(),
                total.getTotalCount() == 0 ? 0 : total.getValueAtPercentile(99.0));
    }

    /**
     * @param cumulativeCounts values at or below each bound (to the histogram's precision)
     * @param count            every value recorded
     * @param sumNanos         their exact sum (it may already include a value a concurrent writer
     *                         recorded after the counts were taken)
     * @param p99Nanos         the 99th percentile, 0 when empty
     */
    public record Snapshot(long[] cumulativeCounts, long count, long sumNanos, long p99Nanos) {
    }
}
