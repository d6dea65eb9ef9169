package io.ferry.replica.status;

import io.ferry.wire.VolumeInfo;
import java.nio.file.Path;
import java.util.List;

/**
 * A read-only view of one group's apply side for status and metrics: its seqs, failure,
 * volumes, point-in-time window and drill. Implemented by the receiver's {@code GroupReplica}
 * (a fake in tests). Every method is cheap, lock-free or nearly, and callable from any thread;
 * nothing here changes the group.
 */
public interface GroupView {

    /** The attached volumes in volume index order; empty before the first HELLO. */
    List<VolumeInfo> volumes();

    /** Where the replica image of {@code volume} lives. */
    Path replicaPath(String volume);

    /** Highest seq received (maybe not durable yet). */
    long receivedSeq();

    /** Highest seq synced in the receiver's journal: the only seq ever acknowledged. */
    long durableSeq();

    /** Highest seq applied to the replicas; always a delta boundary. */
    long appliedSeq();

    /** Capture time (epoch nanos) of the last write of the last durable delta; 0 when none. */
    long lastDurableCaptureNanos();

    /** Null while healthy; otherwise why the group stopped. */
    String failure();

    /** Whether a drill runs on the group (its clones are exported). */
    default boolean drilling() {
        return false;
    }

    /** The seq the running drill shows. */
    default long drillSeq() {
        return 0;
    }

    /** The oldest seq the replicas can be rolled back to. */
    default long oldestRecoverableSeq() {
        return 0;
    }

    /** Bytes the group's undo log holds. */
    default long undoBytes() {
        return 0;
    }

    /** Whether the replicas hold a consistent copy (false while the first sync of a group runs). */
    default boolean consistent() {
        return true;
    }

    /** The newest seq at which the replicas were a consistent copy. */
    default long lastConsistentSeq() {
        return appliedSeq();
    }

    /** The sync under way, or null. */
    default io.ferry.replica.store.GroupState.Sync syncProgress() {
        return null;
    }
}
