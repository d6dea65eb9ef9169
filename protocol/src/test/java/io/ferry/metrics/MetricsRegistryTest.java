package io.ferry.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsRegistryTest {

    @TempDir
    Path dir;

    @Test
    void shouldWriteHelpTypeAndSamplesOfCollectedFamiliesInRegistrationOrder() {
        MetricsRegistry registry = new MetricsRegistry()
                .gauge("ferry_test_connected", "1 while connected", List.of(), samples -> samples.add(1))
                .gauge("ferry_test_lag_seconds", "Lag", List.of("group"), samples -> {
                    samples.add(0.25, "db");
                    samples.add(3, "mail");
                })
                .counter("ferry_test_bytes_total", "Bytes", List.of("group"), samples -> samples.add(1e12, "db"));
        assertThat(registry.scrape()).isEqualTo("""
                # HELP ferry_test_connected 1 while connected
                # TYPE ferry_test_connected gauge
                ferry_test_connected 1
                # HELP ferry_test_lag_seconds Lag
                # TYPE ferry_test_lag_seconds gauge
                ferry_test_lag_seconds{group="db"} 0.25
                ferry_test_lag_seconds{group="mail"} 3
                # HELP ferry_test_bytes_total Bytes
                # TYPE ferry_test_bytes_total counter
                ferry_test_bytes_total{group="db"} 1000000000000
                """);
    }

    @Test
    void shouldWriteLatenciesAsCumulativeHistogramBucketsInSeconds() {
        MetricsRegistry registry = new MetricsRegistry();
        LatencyHistogram db = registry.histogram("ferry_test_sync_seconds", "Sync time", List.of("group"), "db");
        assertThat(registry.histogram("ferry_test_sync_seconds", "Sync time", List.of("group"), "db")).isSameAs(db);
        db.recordNanos(TimeUnit.MICROSECONDS.toNanos(20));
        db.recordNanos(TimeUnit.MILLISECONDS.toNanos(3));
        db.recordNanos(TimeUnit.SECONDS.toNanos(20));
        db.recordNanos(-5);
        registry.histogram("ferry_test_sync_seconds", "Sync time", List.of("group"), "mail");

        String text = registry.scrape();
        assertThat(text).startsWith("# HELP ferry_test_sync_seconds Sync time\n# TYPE ferry_test_sync_seconds histogram\n");
        assertThat(text).contains("ferry_test_sync_seconds_bucket{group=\"db\",le=\"1e-05\"} 1\n")
                .contains("ferry_test_sync_seconds_bucket{group=\"db\",le=\"2.5e-05\"} 2\n")
                .contains("ferry_test_sync_seconds_bucket{group=\"db\",le=\"0.0025\"} 2\n")
                .contains("ferry_test_sync_seconds_bucket{group=\"db\",le=\"0.005\"} 3\n")
                .contains("ferry_test_sync_seconds_bucket{group=\"db\",le=\"10\"} 3\n")
                .contains("ferry_test_sync_seconds_bucket{group=\"db\",le=\"+Inf\"} 4\n")
                .contains("ferry_test_sync_seconds_sum{group=\"db\"} 20.00302\n")
                .contains("ferry_test_sync_seconds_count{group=\"db\"} 4\n")
                .contains("ferry_test_sync_seconds_count{group=\"mail\"} 0\n");

        db.recordNanos(TimeUnit.MILLISECONDS.toNanos(3));
        assertThat(registry.scrape()).as("cumulative across scrapes")
                .contains("ferry_test_sync_seconds_count{group=\"db\"} 5\n");
    }

    @Test
    void shouldRecordEventAgesAgainstTheInjectedClock() {
        AtomicLong now = new AtomicLong(5_000_000_000L);
        LatencyHistogram lag = new LatencyHistogram();
        lag.ageSince(now::get).accept(2_000_000_000L);
        LatencyHistogram.Snapshot snapshot = lag.snapshot(MetricsRegistry.BOUNDS_NANOS);
        assertThat(snapshot.count()).isEqualTo(1);
        assertThat(snapshot.sumNanos()).isEqualTo(3_000_000_000L);
        assertThat(snapshot.p99Nanos()).isBetween(2_970_000_000L, 3_030_000_000L);
    }

    @Test
    void shouldEscapeLabelValuesAndHelp() {
        MetricsRegistry registry = new MetricsRegistry()
                .gauge("ferry_test_x", "a\\b\nc", List.of("v"), samples -> samples.add(Double.NaN, "q\"\\\n"));
        assertThat(registry.scrape()).isEqualTo("# HELP ferry_test_x a\\\\b\\nc\n# TYPE ferry_test_x gauge\n"
                + "ferry_test_x{v=\"q\\\"\\\\\\n\"} NaN\n");
    }

    @Test
    void shouldRefuseBadNamesDuplicatesAndWrongLabelCounts() {
        MetricsRegistry registry = new MetricsRegistry().gauge("ferry_ok", "ok", List.of("group"),
                samples -> samples.add(1, "db", "extra"));
        assertThatThrownBy(() -> registry.gauge("ferry_ok", "again", List.of(), samples -> { }))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> registry.gauge("9bad", "x", List.of(), samples -> { }))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> registry.counter("ferry_bytes", "x", List.of(), samples -> { }))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> registry.histogram("ferry_ok", "x", List.of("group"), "db"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(registry::scrape).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ferry_ok");
    }

    /** The exposition passes Prometheus's own checker when it is installed (Debian package prometheus). */
    @Test
    void shouldPassPromtoolCheckMetrics() throws IOException, InterruptedException {
        io.ferry.testing.Interop.requireTools("promtool");
        Path promtool = Path.of(io.ferry.testing.Interop.which("promtool"));
        MetricsRegistry registry = new MetricsRegistry()
                .gauge("ferry_test_lag_seconds", "Lag of the group", List.of("group"), samples -> samples.add(0.5, "db"))
                .counter("ferry_test_bytes_total", "Bytes shipped", List.of("group"), samples -> samples.add(7, "db"));
        registry.histogram("ferry_test_sync_seconds", "Journal sync time", List.of("group"), "db").recordNanos(1_000_000);
        Path file = Files.writeString(dir.resolve("metrics.txt"), registry.scrape());
        Process check = new ProcessBuilder(promtool.toString(), "check", "metrics")
                .redirectInput(file.toFile()).redirectErrorStream(true).start();
        String output = new String(check.getInputStream().readAllBytes());
        assertThat(check.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(check.exitValue()).as(output).isZero();
        assertThat(output).isBlank();
    }
}
