package io.ferry.agent.ship;

import io.ferry.config.HostPort;
import io.ferry.time.EpochNanoClock;
import io.ferry.wire.Ack;
import io.ferry.wire.GroupAck;
import io.ferry.wire.GroupHello;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's shipping thread (Aeron's Sender shape): owns every {@link GroupShipper}, takes
 * link events through an inbox, and loops reading journals and sending deltas. Pipelines wake
 * it after each batch they capture; when idle it parks briefly, so lag stays low without
 * spinning a core.
 */
public final class Shipper implements AutoCloseable, LinkListener {
    private static final Logger LOG = LoggerFactory.getLogger(Shipper.class);
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    public static final int PROTOCOL_VERSION = 1;

    private final String agentId;
    private final Map<String, GroupShipper> groups = new LinkedHashMap<>();
    private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
    private final EpochNanoClock clock;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final ReceiverLink link;
    private final Thread thread;
    private volatile boolean running = true;

    Shipper(String agentId, HostPort receiver, SslContext ssl, List<GroupShipper> shippers, EpochNanoClock clock) {
        this.agentId = agentId;
        this.clock = clock;
        for (GroupShipper shipper : shippers) {
            groups.put(shipper.name(), shipper);
        }
        this.link = new ReceiverLink(receiver, ssl, this::hello, this);
        this.thread = new Thread(this::run, "ferry-shipper");
        this.thread.setDaemon(true);
    }

    /** Builds the shipper for the given groups and starts connecting. */
    public static Shipper start(String agentId, HostPort receiver, SslContext ssl, List<ShippedGroup> groups,
                                EpochNanoClock clock) {
        List<GroupShipper> shippers = new ArrayList<>();
        for (ShippedGroup g : groups) {
            GroupShipper shipper = new GroupShipper(g.name(), g.journal(), g.pipeline(), g.volumes(), g.generationId(),
                    g.rpoNanos(), g.maxDeltaBytes(), g.maxInFlightBytes(), clock);
            shippers.add(shipper);
        }
        Shipper shipper = new Shipper(agentId, receiver, ssl, shippers, clock);
        for (ShippedGroup g : groups) {
            GroupShipper gs = shipper.groups.get(g.name());
            g.pipeline().afterBatch(shipper::wake);
            if (gs.synchronous()) {
                g.pipeline().ackGate(gs);
            }
        }
        shipper.thread.start();
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
        LockSupport.unpark(thread);
    }

    public boolean connected() {
        return link.isReady();
    }

    public String linkProblem() {
        return link.lastProblem();
    }

    public GroupView group(String name) {
        GroupShipper g = groups.get(name);
        return g == null ? null : new GroupView(g, clock);
    }

    /** What became of a bookmark request. */
    public enum BookmarkOutcome { QUEUED, UNKNOWN_GROUP, BACKLOG_FULL }

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
        inbox.add(() -> g.bookmark(seq, label));
        wake();
        return BookmarkOutcome.QUEUED;
    }

    @Override
    public void onHelloAck(long connectionId, HelloAck helloAck) {
        inbox.add(() -> {
            for (GroupAck ack : helloAck.groups()) {
                GroupShipper g = groups.get(ack.name());
                if (g != null) {
                    g.onHelloAck(connectionId, ack);
                }
            }
        });
        wake();
    }

    @Override
    public void onAck(long connectionId, Ack ack) {
        inbox.add(() -> {
            GroupShipper g = groups.get(ack.group());
            if (g != null) {
                g.onAck(connectionId, ack.durableSeq());
            }
        });
        wake();
    }

    @Override
    public void onDisconnected(long connectionId, String reason) {
        inbox.add(() -> groups.values().forEach(g -> g.onDisconnected(connectionId)));
        wake();
    }

    private void run() {
        while (running) {
            try {
                boolean worked = false;
                Runnable event;
                while ((event = inbox.poll()) != null) {
                    event.run();
                    worked = true;
                }
                long now = clock.epochNanos();
                for (GroupShipper g : groups.values()) {
                    worked |= g.pump(link, alloc, now);
                }
                if (!worked) {
                    LockSupport.parkNanos(IDLE_PARK_NANOS);
                }
            } catch (RuntimeException e) {
                LOG.error("shipper loop failed; retrying in 1 s", e);
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
            }
        }
        groups.values().forEach(GroupShipper::close);
    }

    @Override
    public void close() {
        link.close();
        running = false;
        wake();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A read-only view of one group's replication state, for status and metrics. Any thread. */
    public static final class GroupView {
        private final GroupShipper g;
        private final EpochNanoClock clock;

        GroupView(GroupShipper g, EpochNanoClock clock) {
            this.g = g;
            this.clock = clock;
        }

        public String state() {
            return g.state();
        }

        public String problem() {
            return g.problem();
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
    }
}
