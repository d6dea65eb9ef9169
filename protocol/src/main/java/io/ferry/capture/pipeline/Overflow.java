package io.ferry.capture.pipeline;

import io.ferry.capture.bitmap.DirtyMap;
import io.ferry.capture.bitmap.JournalBudget;
import java.io.IOException;

/**
 * How a group's pipeline outlives an outage its journal cannot hold: the agent-wide
 * {@link JournalBudget}, the group's {@link DirtyMap}, where the mode is persisted, and what the
 * mode was at start. Handed to {@link WritePipeline#overflow} once, before the first write.
 *
 * @param releaseAtFold whether the pipeline drops its journal itself when it folds (a group with
 *        no shipper, whose journal has no reader); otherwise the shipper asks for it with
 *        {@link WritePipeline#releaseFolded}
 * @param bitmapAtStart the group was in bitmap mode when the agent stopped
 * @param foldedSeq the seq of the last fold (0: never folded)
 * @param dirtySinceNanos capture time of the oldest write the dirty map stands for (0: none)
 * @param crashRecoveryAtStart a host crash may have lost the journal's tail after the fold (see
 *        {@link io.ferry.capture.activity.CrashRecovery}): the receiver may hold seqs past it
 */
public record Overflow(JournalBudget budget, DirtyMap dirty, Store store, boolean releaseAtFold,
        boolean bitmapAtStart, long foldedSeq, long dirtySinceNanos, boolean crashRecoveryAtStart) {

    public Overflow(JournalBudget budget, DirtyMap dirty, Store store, boolean releaseAtFold, boolean bitmapAtStart,
            long foldedSeq, long dirtySinceNanos) {
        this(budget, dirty, store, releaseAtFold, bitmapAtStart, foldedSeq, dirtySinceNanos, false);
    }

    /** Persists the group's mode (atomically: a crash leaves the old record or the new). */
    @FunctionalInterface
    public interface Store {
        void persist(boolean bitmap, long foldedSeq, long dirtySinceNanos, boolean crashRecovery) throws IOException;
    }
}
