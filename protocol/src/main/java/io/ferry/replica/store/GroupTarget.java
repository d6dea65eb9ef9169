package io.ferry.replica.store;

import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * What a replication session needs from a group's durable side (the receiver's
 * {@code GroupReplica}; a fake in tests): the port through which deltas, bookmarks and HELLO's
 * volumes go in. Status reads the group through {@link io.ferry.replica.status.GroupView}.
 * Every method may be called from any thread; none blocks on disk except {@link #attachVolumes},
 * which sessions call off the event loop.
 */
public interface GroupTarget {

    /**
     * Attaches the volumes HELLO announced: the first call creates the replicas, later calls must
     * announce the same list.
     *
     * @throws IllegalStateException or IllegalArgumentException naming the difference when the list
     *         does not match (the agent's fault)
     * @throws IOException when a replica cannot be created (the receiver's fault)
     */
    void attachVolumes(List<VolumeInfo> volumes) throws IOException;

    /** The attached volumes in HELLO order (volume index order); empty before the first attach. */
    List<VolumeInfo> volumes();

    /** Where the replica image of {@code volume} lives. */
    Path replicaPath(String volume);

    long generationId();

    /**
     * The chain of generations of the replicas' data: the agent's generation it follows from seq
     * 0, and once promoted, the promote's generation from the promoted seq.
     */
    default io.ferry.generation.GenerationHistory history() {
        return io.ferry.generation.GenerationHistory.of(generationId());
    }

    /** Highest seq handed to {@link #append} (maybe not durable yet). */
    long receivedSeq();

    /** Highest seq synced in the receiver's journal: the only seq ever acknowledged. */
    long durableSeq();

    /** Highest seq applied to the replicas; always a delta boundary. */
    long appliedSeq();

    /** Capture time (epoch nanos) of the last write of the last durable delta; 0 when none. */
    long lastDurableCaptureNanos();

    /** DELTA bytes handed over but not yet written to the journal (for read back-pressure). */
    long queuedAppendBytes();

    /** Null while healthy; otherwise why the group stopped. */
    String failure();

    /**
     * Hands over one validated DELTA body. Takes one reference to {@code body} in every case,
     * exceptions included; never blocks. {@code onDurable} is called on another thread with the
     * durable seq once the delta is synced.
     *
     * @throws IllegalArgumentException if {@code firstSeq != receivedSeq() + 1}
     * @throws IllegalStateException before {@link #attachVolumes}, after close, or once failed
     */
    void append(ByteBuf body, long firstSeq, long lastSeq, long lastCaptureNanos, LongConsumer onDurable);

    /**
     * Calls {@code onDurable} (on another thread) with the durable seq once everything appended
     * before this call is durable.
     *
     * @throws IllegalStateException once the group failed or was closed
     */
    void whenDurable(LongConsumer onDurable);

    /**
     * The agent marked {@code seq} with an operator's {@code label}: the target keeps it as a
     * recovery point once {@code seq} is applied. Called on the event loop: never blocks, the
     * target persists it on its own thread. Targets that keep no points ignore it.
     */
    default void bookmark(long seq, String label) {
    }

    /**
     * An agent of data generation {@code agentGeneration} attached (after {@link #attachVolumes},
     * off the event loop): answers whether it may ship ({@link io.ferry.wire.GroupAck#STATUS_OK})
     * or must also sync its volumes ({@link io.ferry.wire.GroupAck#STATUS_SYNC_EMPTY},
     * {@link io.ferry.wire.GroupAck#STATUS_SYNC_ALL}); a sync asked for is persisted first.
     *
     * @throws IllegalStateException naming the problem when the replicas follow another generation
     * @throws IOException when the decision cannot be persisted
     */
    default int admit(long agentGeneration) throws IOException {
        return io.ferry.wire.GroupAck.STATUS_OK;
    }

    /**
     * A SYNC mark of the agent (on the event loop; never blocks): the target acts on it once it
     * has applied {@code mark.seq()}. Targets that keep no sync state ignore it.
     */
    default void syncMark(io.ferry.wire.SyncMark mark) {
    }

    /**
     * The agent's hashes of a region at {@code hashes.seq()} (on the event loop; never blocks):
     * the target hashes the same blocks of its replica once it has applied exactly that seq
     * (it applies no further until then) and hands {@code reply} the ranges that differ, on
     * another thread. The session has checked the region lies inside the volume.
     */
    default void compareHashes(io.ferry.wire.BlockHashes hashes, java.util.function.Consumer<io.ferry.wire.BlockDiff> reply) {
        throw new IllegalStateException("this target does not compare hashes");
    }
}
