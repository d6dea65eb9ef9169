package io.ferry.capture.ship;

import io.ferry.config.HostPort;
import io.ferry.time.EpochNanoClock;
import io.ferry.wire.Ack;
import io.ferry.wire.GroupAck;
import io.ferry.wire.GroupHello;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.ferry.worker.CommandQueue;
import io.ferry.worker.GroupFaults;
import io.ferry.worker.Worker;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agrona.concurrent.Agent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's shipping thread (Aeron's Sender shape), run as a {@link Worker}: owns every
 * {@link GroupShipper}, takes link events and bookmark requests as commands, and in each unit of
 * work reads journals and sends deltas. Pipelines wake it after each batch they capture; when
 * idle it parks briefly, so lag stays low without spinning a core.
 *
 * <p>Each group's share of the work runs through {@link GroupFaults}: a group whose shipping
 * throws is failed (status shows it {@code failed} with the reason, its synchronous writers are
 * let go) and the groups after it keep being shipped.
 */
public final class Shipper implements AutoCloseable, LinkListener, Agent {
    private static final Logger LOG = LoggerFactory.getLogger(Shipper.class);
    public static final int PROTOCOL_VERSION = 1;

    private final String agentId;
    private final Map<String, GroupShipper> groups = new LinkedHashMap<>();
    private final CommandQueue inbox = new CommandQueue(this::wake);
    private final GroupFaults faults = new GroupFaults("shipper", this::onGroupFailed);
    private final EpochNanoClock clock;
    private final ByteBufAllocator alloc;
    private final Link link;
    private volatile Worker worker;

    Shipper(String agentId, Link.Factory links, List<GroupShipper> shippers, EpochNanoClock clock,
            ByteBufAllocator alloc) {
        this.agentId = agentId;
        this.clock = clock;
        this.alloc = alloc;
        for (GroupShipper shipper : shippers) {
            groups.put(shipper.name(), shipper);
        }
        this.link = links.create(this::hello, this);
    }

    /** Builds the shipper for the given groups and starts connecting. */
    public static Shipper start(String agentId, HostPort receiver, SslContext ssl, List<ShippedGroup> groups,
                                EpochNanoClock clock) {
        return start(agentId, (hello, listener) -> new ReceiverLink(receiver, ssl, hello, listener, clock), groups, clock,
                PooledByteBufAllocator.DEFAULT);
    }

    /** Builds the shipper over {@code links}, hooks it into the groups' pipelines and starts it. */
    static Shipper start(String agentId, Link.Factory links, List<ShippedGroup> groups, EpochNanoClock clock,
                         ByteBufAllocator alloc) {
        List<GroupShipper> shippers = new ArrayList<>();
        for (ShippedGroup g : groups) {
            GroupShipper shipper = new GroupShipper(g.name(), g.journal(), g.pipeline(), g.volumes(), g.generationId(),
                    g.rpoNanos(), g.maxDeltaBytes(), g.maxInFlightBytes(), clock);
            shipper.syncSource(g.sync());
            shippers.add(shipper);
        }
        Shipper shipper = new Shipper(agentId, links, shippers, clock, alloc);
        for (ShippedGroup g : groups) {
            GroupShipper gs = shipper.groups.get(g.name());
            g.pipeline().afterBatch(shipper::wake);
            if (gs.synchronous()) {
                g.pipeline().ackGate(gs);
            }
        }
        shipper.worker = Worker.start(shipper, Worker.DEFAULT_IDLE_PARK_NANOS);
        shipper.link.start();
        return shipper;
    }

    private Hello hello() {
        List<GroupHello> hellos = new ArrayList<>();
        for (GroupShipper g : groups.values()) {
            hellos.add(g.hello());
        }
        return new Hello(agentId, PROTOCOL_VERSION, PROTOCOL_VERSION, hellos);
    }

    /** Wakes the shipping thread: new records are in a journal. Any thread. */
    public void wake() {
        Worker w = worker;
        if (w != null) {
            w.wake();
        }
    }

    public boolean connected() {
        return link.isReady();
    }

    public String linkProblem() {
        return link.lastProblem();
    }

    public GroupView group(String name) {
        GroupShipper g = groups.get(name);
        return g == null ? null : new GroupView(g, faults, clock);
    }

    /** What became of a bookmark request. */
    public enum BookmarkOutcome { QUEUED, UNKNOWN_GROUP, BACKLOG_FULL }

    /**
     * Starts a verify of {@code group} on the shipper thread and waits for it to start; null
     * when it started, else why not.
     *
     * @throws IllegalArgumentException for a group this shipper does not ship
     */
    public String verify(String group, boolean repair) throws InterruptedException {
        GroupShipper g = groups.get(group);
        if (g == null) {
            throw new IllegalArgumentException("unknown group " + group);
        }
        java.util.concurrent.CompletableFuture<GroupShipper.VerifyRefusal> started = new java.util.concurrent.CompletableFuture<>();
        inbox.submit(() -> faults.run(group, () -> {
            started.complete(g.startVerify(repair));
            return 1;
        }));
        try {
            GroupShipper.VerifyRefusal refusal = started.get(30, java.util.concurrent.TimeUnit.SECONDS);
            return refusal == null ? null : refusal.name().toLowerCase(java.util.Locale.ROOT);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return "not_started: " + e;
        }
    }

    /**
     * Asks the shipping thread to send a bookmark of {@code group} at {@code seq} in order with its
     * deltas. Any thread. A bookmark is refused, never dropped, when too many are already waiting
     * for the receiver's acknowledgement (a long disconnection).
     */
    public BookmarkOutcome bookmark(String group, long seq, String label) {
        GroupShipper g = groups.get(group);
        if (g == null) {
            return BookmarkOutcome.UNKNOWN_GROUP;
        }
        if (!g.reserveBookmark()) {
            return BookmarkOutcome.BACKLOG_FULL;
        }
        inbox.submit(() -> faults.run(group, () -> {
            g.bookmark(seq, label);
            return 1;
        }));
        return BookmarkOutcome.QUEUED;
    }

    @Override
    public void onHelloAck(long connectionId, HelloAck helloAck) {
        inbox.submit(() -> {
            for (GroupAck ack : helloAck.groups()) {
                GroupShipper g = groups.get(ack.name());
                if (g != null) {
                    faults.run(g.name(), () -> {
                        g.onHelloAck(connectionId, ack);
                        return 1;
                    });
                }
            }
        });
    }

    @Override
    public void onAck(long connectionId, Ack ack) {
        inbox.submit(() -> {
            GroupShipper g = groups.get(ack.group());
            if (g != null) {
                faults.run(g.name(), () -> {
                    g.onAck(connectionId, ack.durableSeq());
                    return 1;
                });
            }
        });
    }

    @Override
    public void onDiff(long connectionId, io.ferry.wire.BlockDiff diff) {
        inbox.submit(() -> {
            GroupShipper g = groups.get(diff.group());
            if (g != null) {
                faults.run(g.name(), () -> {
                    g.onDiff(connectionId, diff);
                    return 1;
                });
            }
        });
    }

    @Override
    public void onDisconnected(long connectionId, String reason) {
        inbox.submit(() -> {
            for (GroupShipper g : groups.values()) {
                faults.run(g.name(), () -> {
                    g.onDisconnected(connectionId);
                    return 1;
                });
            }
        });
    }

    @Override
    public String roleName() {
        return "ferry-shipper";
    }

    /** One round: the queued link events and requests, then each healthy group's pump. */
    @Override
    public int doWork() {
        int work = inbox.drain();
        long now = clock.epochNanos();
        for (GroupShipper g : groups.values()) {
            work += faults.run(g.name(), () -> g.pump(link, alloc, now) ? 1 : 0);
        }
        return work;
    }

    /** A group whose shipping threw: stopped for good, its synchronous writers answered. Shipper thread. */
    private void onGroupFailed(String group, Throwable cause) {
        GroupShipper g = groups.get(group);
        try {
            g.onShippingFailed("shipping group " + group + " failed: " + faults.failure(group));
        } catch (RuntimeException e) {
            LOG.error("group {}: could not stop its shipping cleanly: {}", group, e.toString(), e);
        }
    }

    @Override
    public void onClose() {
        for (GroupShipper g : groups.values()) {
            try {
                g.close();
            } catch (RuntimeException e) {
                LOG.warn("group {}: closing its shipping failed: {}", g.name(), e.toString());
            }
        }
    }

    /** Closes the link, then stops the shipping thread (which closes every group's reader). */
    @Override
    public void close() {
        link.close();
        Worker w = worker;
        if (w != null) {
            w.close();
        }
    }

    /** A read-only view of one group's replication state, for status and metrics. Any thread. */
    public static final class GroupView {
        private final GroupShipper g;
        private final GroupFaults faults;
        private final EpochNanoClock clock;

        GroupView(GroupShipper g, GroupFaults faults, EpochNanoClock clock) {
            this.g = g;
            this.faults = faults;
            this.clock = clock;
        }

        /** {@code failed} once shipping the group threw, else the group's replication state. */
        public String state() {
            return faults.failure(g.name()) != null ? GroupShipper.FAILED : g.state();
        }

        public String problem() {
            String failure = faults.failure(g.name());
            return failure != null ? "shipping group " + g.name() + " failed: " + failure : g.problem();
        }

        public long ackedSeq() {
            return g.ackedSeq();
        }

        public double lagSeconds() {
            return g.lagNanos(clock.epochNanos()) / 1e9;
        }

        public double worstLagSeconds() {
            return g.worstLagNanos() / 1e9;
        }

        public boolean rpoBreach() {
            return g.breach();
        }

        public long bytesCaptured() {
            return g.bytesIn();
        }

        public long bytesShipped() {
            return g.bytesShipped();
        }

        public long deltasShipped() {
            return g.deltasShipped();
        }

        /** The sync under way, or null. */
        public io.ferry.api.SyncStatus sync() {
            return g.syncStatus(clock.epochNanos());
        }

        /** The verify running or last run, or null. */
        public io.ferry.capture.sync.VerifyRun verify() {
            return g.verifyRun();
        }

        /** How the group stood to the receiver's copy at the last HELLO_ACK (generation chains), or null. */
        public io.ferry.generation.GenerationHistory.Relation relation() {
            return g.relation();
        }
    }
}
