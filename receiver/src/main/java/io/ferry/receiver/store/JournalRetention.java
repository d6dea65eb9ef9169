package io.ferry.receiver.store;

/**
 * Decides how much of a group's journal may be deleted once deltas are applied: the hook for
 * recovery-point retention, which will hold records for its window. Called on the group's
 * applier thread after each applied batch; must be cheap and must not block.
 */
@FunctionalInterface
public interface JournalRetention {

    /** Releases everything applied: the journal keeps only what is not yet on the replicas. */
    JournalRetention RELEASE_APPLIED = appliedSeq -> appliedSeq;

    /** The seq up to which the journal may be released, at most {@code appliedSeq}. */
    long releasableUpTo(long appliedSeq);
}
