package io.ferry.replica.store;

/**
 * Decides how much of a group's journal may be deleted once deltas are applied. Point-in-time
 * recovery does not need the journal (the undo log keeps old contents), so the daemon releases
 * everything applied; tests hold records with it. Called on the group's
 * applier thread after each applied batch; must be cheap and must not block.
 */
@FunctionalInterface
public interface JournalRetention {

    /** Releases everything applied: the journal keeps only what is not yet on the replicas. */
    JournalRetention RELEASE_APPLIED = appliedSeq -> appliedSeq;

    /** The seq up to which the journal may be released, at most {@code appliedSeq}. */
    long releasableUpTo(long appliedSeq);
}
