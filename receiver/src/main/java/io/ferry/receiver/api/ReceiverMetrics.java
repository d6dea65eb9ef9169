package io.ferry.receiver.api;

import io.ferry.metrics.LatencyHistogram;
import io.ferry.metrics.MetricsRegistry;
import io.ferry.receiver.session.GroupLink;
import io.ferry.time.EpochNanoClock;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The receiver's metric families (what {@code GET /metrics} shows), labelled {@code group} and
 * {@code agent}: gauges and counters read from the groups' status at scrape time, and the latency
 * histograms the journal writer and the applier record into. The names are part of what
 * operators scrape: keep them.
 */
public final class ReceiverMetrics {

    private static final List<String> LABELS = List.of("group", "agent");
    private static final List<String> STATE_LABELS = List.of("group", "agent", "state");
    private static final List<String> STATES = List.of(ReceiverStatus.SYNCING, ReceiverStatus.REPLICATING,
            ReceiverStatus.FAILED, ReceiverStatus.PROMOTED, ReceiverStatus.DRILL);

    private ReceiverMetrics() {
    }

    /** Time of one sync of the group's receiver journal (a batch of deltas made durable). */
    public static LatencyHistogram journalSync(MetricsRegistry registry, String group, String agent) {
        return registry.histogram("ferry_receiver_journal_sync_seconds",
                "Time of one sync of the receiver journal (a batch of DELTAs made durable before their ACK)",
                LABELS, group, agent);
    }

    /** Time of one apply batch: read, write to the replicas, sync them, persist the applied seq. */
    public static LatencyHistogram applyBatch(MetricsRegistry registry, String group, String agent) {
        return registry.histogram("ferry_receiver_apply_batch_seconds",
                "Time of one apply batch (journal read, replica writes and undo, replica sync, applied seq persisted)",
                LABELS, group, agent);
    }

    /** Per apply batch, the age of its newest write: capture on the agent to applied here. */
    public static LatencyHistogram applyLag(MetricsRegistry registry, String group, String agent) {
        return registry.histogram("ferry_receiver_apply_lag_seconds",
                "Per apply batch, the age of its newest write when it reached the replicas (agent capture time to"
                        + " applied; the two hosts' clocks must agree)",
                LABELS, group, agent);
    }

    /** Registers the collected families of {@code groups} (in config order) on {@code registry}. */
    public static void register(MetricsRegistry registry, String receiverId, List<GroupLink> groups,
                                EpochNanoClock clock) {
        List<GroupLink> links = List.copyOf(groups);
        gauge(registry, links, clock, "ferry_receiver_received_seq", "Highest seq received from the agent",
                ReceiverStatus.Group::receivedSeq);
        gauge(registry, links, clock, "ferry_receiver_durable_seq",
                "Highest seq synced in the receiver journal (acknowledged)", ReceiverStatus.Group::durableSeq);
        gauge(registry, links, clock, "ferry_receiver_applied_seq", "Highest seq applied to the replicas",
                ReceiverStatus.Group::appliedSeq);
        gauge(registry, links, clock, "ferry_receiver_lag_seconds",
                "Age of the oldest write durable on the receiver but not yet applied", ReceiverStatus.Group::lagSeconds);
        registry.counter("ferry_receiver_received_bytes_total",
                "DELTA bytes received (as sent, compressed) since the receiver started", LABELS, samples -> {
                    for (GroupLink link : links) {
                        ReceiverStatus.Group group = ReceiverStatus.group(link, clock.epochNanos());
                        samples.add(group.bytesReceived(), group.name(), group.agent());
                    }
                });
        gauge(registry, links, clock, "ferry_receiver_undo_bytes", "Bytes the undo log holds (point-in-time recovery)",
                ReceiverStatus.Group::undoBytes);
        gauge(registry, links, clock, "ferry_receiver_oldest_recoverable_seq",
                "Oldest seq a promote or drill can roll back to", ReceiverStatus.Group::oldestRecoverableSeq);
        gauge(registry, links, clock, "ferry_receiver_connected", "1 while the owning agent has a session",
                group -> group.connected() ? 1 : 0);
        registry.gauge("ferry_receiver_group_state", "1 for the group's current state", STATE_LABELS, samples -> {
            for (GroupLink link : links) {
                ReceiverStatus.Group group = ReceiverStatus.group(link, clock.epochNanos());
                for (String state : STATES) {
                    samples.add(state.equals(group.state()) ? 1 : 0, group.name(), group.agent(), state);
                }
            }
        });
    }

    private static void gauge(MetricsRegistry registry, List<GroupLink> links, EpochNanoClock clock, String name,
                              String help, ToDoubleFunction<ReceiverStatus.Group> value) {
        registry.gauge(name, help, LABELS, samples -> {
            for (GroupLink link : links) {
                ReceiverStatus.Group group = ReceiverStatus.group(link, clock.epochNanos());
                samples.add(value.applyAsDouble(group), group.name(), group.agent());
            }
        });
    }
}
