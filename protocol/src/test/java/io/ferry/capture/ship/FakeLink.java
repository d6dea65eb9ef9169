package io.ferry.capture.ship;

import io.ferry.delta.Delta;
import io.ferry.wire.Bookmark;
import io.ferry.wire.Frames;
import io.ferry.wire.Hello;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A receiver link without a network: keeps what the shipper sends (decoded) and lets the test
 * play the receiver through the {@link LinkListener} it was given. Thread-safe.
 */
final class FakeLink implements Link, Link.Factory {

    /** One frame the shipper sent: a DELTA's seq range or a BOOKMARK, on connection {@code id}. */
    record Sent(long connectionId, int type, String group, long firstSeq, long lastSeq, String label, int extents) {
        static Sent of(long id, ByteBuf frame) {
            int type = frame.getUnsignedByte(frame.readerIndex() + 5);
            ByteBuf body = frame.slice(frame.readerIndex() + Frames.HEADER_BYTES, frame.readableBytes() - Frames.HEADER_BYTES);
            if (type == Frames.DELTA) {
                Delta d = Delta.decode(body, 64 << 20);
                return new Sent(id, type, d.group(), d.firstSeq(), d.lastSeq(), null, d.extentCount());
            }
            if (type == Frames.SYNC) {
                io.ferry.wire.SyncMark m = io.ferry.wire.SyncMark.decode(body);
                return new Sent(id, type, m.group(), m.seq(), m.seq(), "phase " + m.phase(), 0);
            }
            if (type == Frames.HASHES) {
                io.ferry.wire.BlockHashes h = io.ferry.wire.BlockHashes.decode(body);
                return new Sent(id, type, h.group(), h.seq(), h.seq(), "offset " + h.offset(), h.count());
            }
            if (type == Frames.BOOKMARK) {
                Bookmark b = Bookmark.decode(body);
                return new Sent(id, type, b.group(), b.seq(), b.seq(), b.label(), 0);
            }
            return new Sent(id, type, null, 0, 0, null, 0);
        }

        boolean isDelta() {
            return type == Frames.DELTA;
        }
    }

    private final List<Sent> sent = new ArrayList<>();
    volatile boolean ready = true;
    volatile boolean started;
    volatile boolean closed;
    volatile LinkListener listener;
    volatile Supplier<Hello> hello;

    @Override
    public Link create(Supplier<Hello> helloSupplier, LinkListener linkListener) {
        this.hello = helloSupplier;
        this.listener = linkListener;
        return this;
    }

    @Override
    public void start() {
        started = true;
    }

    @Override
    public boolean isReady() {
        return ready;
    }

    @Override
    public String lastProblem() {
        return ready ? null : "not connected";
    }

    @Override
    public void send(long connectionId, ByteBuf frame) {
        try {
            Sent s = Sent.of(connectionId, frame);
            synchronized (this) {
                sent.add(s);
            }
        } finally {
            frame.release();
        }
    }

    synchronized List<Sent> sent() {
        return List.copyOf(sent);
    }

    synchronized List<Sent> deltas(String group) {
        return sent.stream().filter(s -> s.isDelta() && group.equals(s.group())).toList();
    }

    synchronized void clear() {
        sent.clear();
    }

    @Override
    public void close() {
        closed = true;
    }
}
