package io.ferry.replica.store;

import io.ferry.delta.Delta;
import io.ferry.replica.undo.UndoLog;
import io.ferry.volume.VolumeFile;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A group's window of point-in-time recovery: its undo log (the old contents of everything the
 * applier overwrote) kept in step with its recovery points. Before each delta is written the old
 * bytes go to the log; after each applied batch the log is trimmed to the oldest retained point
 * and to its byte bound, dropping the points it no longer reaches.
 *
 * <p>Owned by the group's applier thread ({@link #capture}, {@link #afterApplied},
 * {@link #rollback} run there, the latter inside a command); the getters are any thread.
 */
public final class UndoRetention implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UndoRetention.class);

    private final String group;
    private final UndoLog undo;
    private final RecoveryPoints points;
    private final long maxBytes;
    private final java.util.function.LongSupplier pinnedSeq;
    private boolean overBound;
    private boolean pinWarned;

    /**
     * @param pinnedSeq a seq the log must keep reaching whatever its bounds say (the last
     *        consistent point while a resync runs), {@code Long.MAX_VALUE} for none
     */
    UndoRetention(String group, UndoLog undo, RecoveryPoints points, long maxBytes,
            java.util.function.LongSupplier pinnedSeq) {
        this.group = group;
        this.undo = undo;
        this.points = points;
        this.maxBytes = maxBytes;
        this.pinnedSeq = pinnedSeq;
    }

    UndoRetention(String group, UndoLog undo, RecoveryPoints points, long maxBytes) {
        this(group, undo, points, maxBytes, () -> Long.MAX_VALUE);
    }

    /**
     * Records the old contents of what {@code delta} is about to overwrite (synced). A pre-image
     * that cannot be recorded (disk full) degrades point-in-time recovery, not replication: the
     * log starts over after this delta and the earlier points are dropped, logged.
     */
    void capture(Delta delta, VolumeFile[] volumes) throws IOException {
        try {
            undo.capture(delta, volumes);
        } catch (IOException e) {
            long pin = pinnedSeq.getAsLong();
            if (pin != Long.MAX_VALUE) {
                // the last consistent point of a resync must stay reachable: stop applying instead
                throw new IOException("group " + group + ": cannot record the old contents of delta " + delta.firstSeq()
                        + ".." + delta.lastSeq() + " in the undo log during a resync (" + e.getMessage() + "); applying"
                        + " stops so that seq " + pin + " stays restorable. Free space in " + undo.directory()
                        + " and restart the receiver", e);
            }
            undo.startOver(delta.lastSeq());
            int dropped = points.pruneBefore(delta.lastSeq());
            LOG.error("group {}: cannot record the old contents of delta {}..{} in the undo log ({}); replication"
                    + " goes on, but the undo log starts over after seq {} and {} earlier recovery point(s) are"
                    + " dropped. Free space in {} or lower undo.maxBytes.", group, delta.firstSeq(), delta.lastSeq(),
                    e.toString(), delta.lastSeq(), dropped, undo.directory());
        }
    }

    /**
     * After each applied batch: drops undo segments older than the oldest retained point, then,
     * while the log is over its byte bound, the oldest segments and the points they held (logged
     * once per episode: the point-in-time window shrinks, replication goes on).
     */
    void afterApplied() throws IOException {
        long pin = pinnedSeq.getAsLong();
        long oldest = points.oldestSeq();
        if (oldest >= 0) {
            undo.release(Math.min(oldest, pin));
        }
        boolean over = false;
        while (undo.bytesOnDisk() > maxBytes && undo.releaseOldestUpTo(pin)) {
            over = true;
        }
        boolean pinned = pin != Long.MAX_VALUE && undo.bytesOnDisk() > maxBytes;
        if (pinned && !pinWarned) {
            LOG.warn("group {}: the undo log holds {} bytes, over its bound of {}, to keep seq {} (the last consistent"
                    + " point) restorable until the resync ends", group, undo.bytesOnDisk(), maxBytes, pin);
        }
        pinWarned = pinned;
        if (over) {
            int dropped = points.pruneBefore(undo.baseSeq());
            if (!overBound) {
                LOG.warn("group {}: the undo log reached its bound of {} bytes; the oldest recoverable seq is now {}"
                        + " ({} point(s) dropped). Raise undo.maxBytes or shorten retention.", group, maxBytes,
                        undo.baseSeq(), dropped);
            }
        } else if (overBound && undo.bytesOnDisk() <= maxBytes / 2) {
            LOG.info("group {}: the undo log is back under half its bound ({} bytes)", group, undo.bytesOnDisk());
        }
        overBound = over || (overBound && undo.bytesOnDisk() > maxBytes / 2);
    }

    /**
     * Writes to {@code target} the old contents of everything changed after {@code seq}, newest
     * first: a target that held the replicas at {@code appliedSeq} ends at the state of {@code seq}.
     *
     * @throws IllegalArgumentException if {@code seq} is outside {@link #oldestRecoverableSeq()}..{@code appliedSeq}
     */
    void rollback(long seq, long appliedSeq, UndoLog.Target target) throws IOException {
        checkRecoverable(seq, appliedSeq);
        undo.rollback(seq, target);
    }

    /** Rolls back an interrupted promote's rest, whatever the log's bounds say (open only). */
    void finishRollback(long seq, UndoLog.Target target) throws IOException {
        undo.rollback(seq, target);
    }

    void checkRecoverable(long seq, long appliedSeq) {
        if (seq < undo.baseSeq() || seq > appliedSeq) {
            throw new IllegalArgumentException("group " + group + ": seq " + seq + " is outside the recoverable"
                    + " range " + undo.baseSeq() + ".." + appliedSeq);
        }
    }

    /** The oldest seq the replicas can be rolled back to. Any thread. */
    public long oldestRecoverableSeq() {
        return undo.baseSeq();
    }

    /** Bytes the undo log holds on disk. Any thread. */
    public long bytesOnDisk() {
        return undo.bytesOnDisk();
    }

    /** The bound on {@link #bytesOnDisk()} (undo.maxBytes). */
    public long maxBytes() {
        return maxBytes;
    }

    @Override
    public void close() throws IOException {
        undo.close();
    }
}
