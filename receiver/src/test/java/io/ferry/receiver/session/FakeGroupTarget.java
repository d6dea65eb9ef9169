package io.ferry.receiver.session;

import io.ferry.replica.store.GroupTarget;
import io.ferry.replica.status.GroupView;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * An in-memory group for session and API tests: records appends (releasing each body at once),
 * becomes durable only when the test calls {@link #sync()}, and applies when it calls
 * {@link #applyUpTo}. Thread-safe by its monitor; callbacks run on the caller of sync().
 */
public final class FakeGroupTarget implements GroupTarget, GroupView {

    /** One append as the session made it. */
    public record Append(long firstSeq, long lastSeq, long lastCaptureNanos, int bodyBytes) {
    }

    private final String group;
    private List<VolumeInfo> volumes = List.of();
    private final List<List<VolumeInfo>> attachCalls = new ArrayList<>();
    private final List<Append> appends = new ArrayList<>();
    private final List<LongConsumer> durableCallbacks = new ArrayList<>();
    private final List<LongConsumer> durableWaiters = new ArrayList<>();
    private long generationId = 42;
    private long receivedSeq;
    private long durableSeq;
    private long appliedSeq;
    private long lastDurableCaptureNanos;
    private long pendingCaptureNanos;
    private long queuedBytes;
    private String failure;

    public FakeGroupTarget(String group) {
        this.group = group;
    }

    @Override
    public synchronized void attachVolumes(List<VolumeInfo> announced) {
        attachCalls.add(List.copyOf(announced));
        if (failure != null) {
            throw new IllegalStateException("group " + group + " failed: " + failure);
        }
        if (volumes.isEmpty()) {
            volumes = List.copyOf(announced);
        } else if (!volumes.equals(announced)) {
            throw new IllegalStateException("group " + group + " has volumes " + volumes + ", HELLO announces "
                    + announced);
        }
    }

    @Override
    public synchronized List<VolumeInfo> volumes() {
        return volumes;
    }

    @Override
    public Path replicaPath(String volume) {
        return Path.of("/replicas", group, volume + ".img");
    }

    @Override
    public synchronized long generationId() {
        return generationId;
    }

    @Override
    public synchronized long receivedSeq() {
        return receivedSeq;
    }

    @Override
    public synchronized long durableSeq() {
        return durableSeq;
    }

    @Override
    public synchronized long appliedSeq() {
        return appliedSeq;
    }

    @Override
    public synchronized long lastDurableCaptureNanos() {
        return lastDurableCaptureNanos;
    }

    @Override
    public synchronized long queuedAppendBytes() {
        return queuedBytes;
    }

    @Override
    public synchronized String failure() {
        return failure;
    }

    @Override
    public synchronized void append(ByteBuf body, long firstSeq, long lastSeq, long lastCaptureNanos,
                                    LongConsumer onDurable) {
        int bytes = body.readableBytes();
        body.release();
        if (failure != null) {
            throw new IllegalStateException("group " + group + " failed: " + failure);
        }
        if (firstSeq != receivedSeq + 1) {
            throw new IllegalArgumentException("firstSeq " + firstSeq + " after " + receivedSeq);
        }
        receivedSeq = lastSeq;
        pendingCaptureNanos = lastCaptureNanos;
        queuedBytes += bytes;
        appends.add(new Append(firstSeq, lastSeq, lastCaptureNanos, bytes));
        durableCallbacks.add(onDurable);
    }

    @Override
    public void whenDurable(LongConsumer onDurable) {
        long seq;
        synchronized (this) {
            if (failure != null) {
                throw new IllegalStateException("group " + group + " failed: " + failure);
            }
            if (durableSeq != receivedSeq) {
                durableWaiters.add(onDurable);
                return;
            }
            seq = durableSeq;
        }
        onDurable.accept(seq);
    }

    /** Makes everything received durable and calls the callbacks, on the caller's thread. */
    public void sync() {
        List<LongConsumer> callbacks;
        long seq;
        synchronized (this) {
            durableSeq = receivedSeq;
            lastDurableCaptureNanos = pendingCaptureNanos;
            queuedBytes = 0;
            seq = durableSeq;
            callbacks = new ArrayList<>(durableCallbacks);
            callbacks.addAll(durableWaiters);
            durableCallbacks.clear();
            durableWaiters.clear();
        }
        callbacks.forEach(callback -> callback.accept(seq));
    }

    public synchronized void applyUpTo(long seq) {
        appliedSeq = seq;
    }

    public synchronized void fail(String why) {
        failure = why;
    }

    public synchronized void setGenerationId(long id) {
        generationId = id;
    }

    public synchronized List<Append> appends() {
        return List.copyOf(appends);
    }

    public synchronized List<List<VolumeInfo>> attachCalls() {
        return List.copyOf(attachCalls);
    }
}
