package io.ferry.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The metrics of one daemon, written as Prometheus text exposition format (version 0.0.4) with
 * a HELP and a TYPE line per family: what {@code GET /metrics} serves on both daemons.
 *
 * <p>Two kinds of family. Gauges and counters are <em>collected</em>: the daemon registers a
 * {@link Collector} that reads its thread-safe views at scrape time (seqs, lag, bytes), so nothing
 * is recorded on a hot path for them. Latencies are {@link LatencyHistogram}s (HdrHistogram) that
 * the components record into through {@link LatencyRecorder}; they are written as Prometheus
 * <em>histograms</em> (cumulative {@code _bucket{le}} counts over fixed bounds from 10 µs to 10 s,
 * then {@code _sum} and {@code _count}, in seconds), not summaries: buckets aggregate across
 * groups and hosts and give windowed quantiles with {@code histogram_quantile} over {@code rate}.
 *
 * <p>Threads: registration and scrapes may come from any thread (this object's monitor guards
 * the family list); collectors run on the scraping thread.
 */
public final class MetricsRegistry {

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    /** Bucket bounds of every latency histogram, in nanoseconds and as the {@code le} label. */
    static final long[] BOUNDS_NANOS = {10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
        5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000, 250_000_000, 500_000_000, 1_000_000_000,
        2_500_000_000L, 5_000_000_000L, 10_000_000_000L};
    private static final String[] BOUNDS_LE = {"1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001",
        "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"};

    /** Receives the samples of one collected family at scrape time. */
    public interface Samples {
        /** One sample; {@code labelValues} in the order of the family's label names. */
        void add(double value, String... labelValues);
    }

    /** Produces a collected family's samples; runs on the scraping thread. */
    @FunctionalInterface
    public interface Collector {
        void collect(Samples samples);
    }

    private final Map<String, Family> families = new LinkedHashMap<>();

    /** Registers a gauge family whose samples {@code collector} gives at each scrape. */
    public MetricsRegistry gauge(String name, String help, List<String> labelNames, Collector collector) {
        return collected("gauge", name, help, labelNames, collector);
    }

    /** Registers a counter family (name ending in {@code _total}) read at each scrape. */
    public MetricsRegistry counter(String name, String help, List<String> labelNames, Collector collector) {
        if (!name.endsWith("_total")) {
            throw new IllegalArgumentException("counter " + name + " must end in _total");
        }
        return collected("counter", name, help, labelNames, collector);
    }

    private synchronized MetricsRegistry collected(String type, String name, String help, List<String> labelNames,
                                                   Collector collector) {
        Objects.requireNonNull(collector, "collector");
        Family family = new Family(type, name, help, labelNames, collector);
        if (families.putIfAbsent(name, family) != null) {
            throw new IllegalArgumentException("metric " + name + " is registered twice");
        }
        return this;
    }

    /**
     * The histogram of family {@code name} for {@code labelValues}, created on first use (the
     * family with it); later calls with the same values return the same histogram.
     *
     * @throws IllegalArgumentException if {@code name} is another kind of family, or was
     *                                  registered with other label names
     */
    public synchronized LatencyHistogram histogram(String name, String help, List<String> labelNames,
                                                   String... labelValues) {
        Family family = families.get(name);
        if (family == null) {
            family = new Family("histogram", name, help, labelNames, null);
            families.put(name, family);
        } else if (family.collector != null || !family.labelNames.equals(labelNames)) {
            throw new IllegalArgumentException("metric " + name + " is already registered as a " + family.type
                    + " with labels " + family.labelNames);
        }
        List<String> values = family.checkValues(labelValues);
        return family.histograms.computeIfAbsent(values, v -> new LatencyHistogram());
    }

    /** The Prometheus text of every family, in registration order. */
    public String scrape() {
        List<Family> snapshot;
        Map<Family, List<Map.Entry<List<String>, LatencyHistogram>>> histograms = new LinkedHashMap<>();
        synchronized (this) {
            snapshot = new ArrayList<>(families.values());
            for (Family family : snapshot) {
                if (family.collector == null) {
                    histograms.put(family, new ArrayList<>(family.histograms.entrySet()));
                }
            }
        }
        StringBuilder out = new StringBuilder(2048);
        for (Family family : snapshot) {
            out.append("# HELP ").append(family.name).append(' ').append(escapeHelp(family.help)).append('\n');
            out.append("# TYPE ").append(family.name).append(' ').append(family.type).append('\n');
            if (family.collector != null) {
                family.collector.collect((value, labelValues) ->
                        sample(out, family.name, family.labelNames, family.checkValues(labelValues), null, null, value));
            } else {
                for (Map.Entry<List<String>, LatencyHistogram> child : histograms.get(family)) {
                    writeHistogram(out, family, child.getKey(), child.getValue().snapshot(BOUNDS_NANOS));
                }
            }
        }
        return out.toString();
    }

    private static void writeHistogram(StringBuilder out, Family family, List<String> values,
                                       LatencyHistogram.Snapshot snapshot) {
        String bucket = family.name + "_bucket";
        for (int i = 0; i < BOUNDS_NANOS.length; i++) {
            sample(out, bucket, family.labelNames, values, "le", BOUNDS_LE[i], snapshot.cumulativeCounts()[i]);
        }
        sample(out, bucket, family.labelNames, values, "le", "+Inf", snapshot.count());
        sample(out, family.name + "_sum", family.labelNames, values, null, null, snapshot.sumNanos() / 1e9);
        sample(out, family.name + "_count", family.labelNames, values, null, null, snapshot.count());
    }

    private static void sample(StringBuilder out, String name, List<String> labelNames, List<String> values,
                               String extraName, String extraValue, double value) {
        out.append(name);
        if (!labelNames.isEmpty() || extraName != null) {
            out.append('{');
            for (int i = 0; i < labelNames.size(); i++) {
                if (i > 0) {
                    out.append(',');
                }
                out.append(labelNames.get(i)).append("=\"");
                escapeLabel(out, values.get(i));
                out.append('"');
            }
            if (extraName != null) {
                if (!labelNames.isEmpty()) {
                    out.append(',');
                }
                out.append(extraName).append("=\"").append(extraValue).append('"');
            }
            out.append('}');
        }
        out.append(' ').append(format(value)).append('\n');
    }

    /** A sample value: integers without a fraction, NaN and infinities as Prometheus spells them. */
    static String format(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "+Inf" : "-Inf";
        }
        if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            return Long.toString((long) value);
        }
        return Double.toString(value);
    }

    private static void escapeLabel(StringBuilder out, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
    }

    private static String escapeHelp(String help) {
        return help.replace("\\", "\\\\").replace("\n", "\\n");
    }

    private static final class Family {
        final String type;
        final String name;
        final String help;
        final List<String> labelNames;
        final Collector collector;
        final Map<List<String>, LatencyHistogram> histograms = new LinkedHashMap<>();

        Family(String type, String name, String help, List<String> labelNames, Collector collector) {
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("\"" + name + "\" is not a Prometheus metric name");
            }
            if (help == null || help.isBlank()) {
                throw new IllegalArgumentException("metric " + name + " needs a help text");
            }
            for (String label : labelNames) {
                if (!LABEL.matcher(label).matches() || label.startsWith("__") || label.equals("le")) {
                    throw new IllegalArgumentException("metric " + name + ": \"" + label + "\" is not a usable label name");
                }
            }
            this.type = type;
            this.name = name;
            this.help = help;
            this.labelNames = List.copyOf(labelNames);
            this.collector = collector;
        }

        List<String> checkValues(String[] values) {
            if (values.length != labelNames.size()) {
                throw new IllegalArgumentException("metric " + name + " has labels " + labelNames + ", got "
                        + values.length + " values");
            }
            for (String value : values) {
                Objects.requireNonNull(value, "label value");
            }
            return List.of(values);
        }
    }
}
