package io.ferry.agent.api;

import io.ferry.agent.AgentNode;
import io.ferry.capture.ship.Shipper;
import io.ferry.metrics.LatencyHistogram;
import io.ferry.metrics.MetricsRegistry;
import java.util.List;
import java.util.function.ToDoubleBiFunction;

/**
 * The agent's metric families (what {@code GET /metrics} shows): per-group gauges and counters
 * read from the node's thread-safe views at scrape time, and the latency histograms the write
 * pipeline records into. The names are part of what operators scrape: keep them.
 */
public final class AgentMetrics {

    private static final List<String> GROUP = List.of("group");

    private AgentMetrics() {
    }

    /** The histogram of one NBD write's time in the pipeline (journal append + backing write), per group. */
    public static LatencyHistogram writeLatency(MetricsRegistry registry, String group) {
        return registry.histogram("ferry_agent_write_seconds",
                "Time the write pipeline took for one NBD write, zeroes or trim (journal append and backing write;"
                        + " FUA and flush syncs and the receiver's acknowledgement at rpo 0s not included)",
                GROUP, group);
    }

    /** The histogram of one group-commit sync (journal and touched backing files), per group. */
    public static LatencyHistogram journalSync(MetricsRegistry registry, String group) {
        return registry.histogram("ferry_agent_journal_sync_seconds",
                "Time of one group-commit sync of the journal and the touched backing files (FLUSH and FUA)",
                GROUP, group);
    }

    /** Registers the collected families of {@code node} on {@code registry}. */
    static void register(MetricsRegistry registry, AgentNode node) {
        registry.gauge("ferry_agent_receiver_connected", "1 while the agent has a session with its receiver",
                List.of(), samples -> {
                    Shipper shipper = node.shipper();
                    samples.add(shipper != null && shipper.connected() ? 1 : 0);
                });
        perGroup(registry, node, "gauge", "ferry_agent_captured_seq", "Highest seq the agent assigned in the group",
                (group, view) -> group.pipeline().capturedSeq());
        perGroup(registry, node, "gauge", "ferry_agent_acked_seq", "Highest seq the receiver confirmed durable",
                (group, view) -> view == null ? 0 : view.ackedSeq());
        perGroup(registry, node, "gauge", "ferry_agent_lag_seconds",
                "Age of the oldest write captured but not yet acknowledged by the receiver",
                (group, view) -> view == null ? 0 : view.lagSeconds());
        perGroup(registry, node, "gauge", "ferry_agent_rpo_seconds", "The group's configured RPO",
                (group, view) -> group.config().rpo().toMillis() / 1000.0);
        perGroup(registry, node, "gauge", "ferry_agent_journal_bytes", "Bytes the group's journal holds on disk",
                (group, view) -> group.journal().bytesOnDisk());
        perGroup(registry, node, "counter", "ferry_agent_shipped_bytes_total",
                "DELTA bytes sent to the receiver (compressed) since the agent started",
                (group, view) -> view == null ? 0 : view.bytesShipped());
        perGroup(registry, node, "gauge", "ferry_agent_sync_total_bytes",
                "Bytes of volume the sync or verify under way covers (0 when none runs)",
                (group, view) -> view == null || view.sync() == null ? 0 : view.sync().totalBytes());
        perGroup(registry, node, "gauge", "ferry_agent_sync_done_bytes",
                "Bytes of volume the sync or verify under way has covered (0 when none runs)",
                (group, view) -> view == null || view.sync() == null ? 0 : view.sync().doneBytes());
        perGroup(registry, node, "gauge", "ferry_agent_sync_sent_bytes",
                "Bytes of data the sync or verify under way has sent (0 when none runs)",
                (group, view) -> view == null || view.sync() == null ? 0 : view.sync().sentBytes());
        perGroup(registry, node, "gauge", "ferry_agent_verify_mismatched_bytes",
                "Bytes the last verify found different from the replica (0 before the first)",
                (group, view) -> view == null || view.verify() == null ? 0 : view.verify().mismatchedBytes());
        perGroup(registry, node, "counter", "ferry_agent_captured_bytes_total",
                "Bytes of writes captured since the agent started",
                (group, view) -> view == null ? 0 : view.bytesCaptured());
    }

    private static void perGroup(MetricsRegistry registry, AgentNode node, String type, String name, String help,
                                 ToDoubleBiFunction<AgentNode.Group, Shipper.GroupView> value) {
        MetricsRegistry.Collector collector = samples -> {
            Shipper shipper = node.shipper();
            for (AgentNode.Group group : node.groups()) {
                Shipper.GroupView view = shipper == null ? null : shipper.group(group.config().name());
                samples.add(value.applyAsDouble(group, view), group.config().name());
            }
        };
        if (type.equals("counter")) {
            registry.counter(name, help, GROUP, collector);
        } else {
            registry.gauge(name, help, GROUP, collector);
        }
    }
}
