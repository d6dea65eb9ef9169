package io.ferry.replica.store;

import io.ferry.failpoint.FailPoints;
import io.ferry.replica.apply.Applier;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Promotion of a group at the DR site: the replicas become the primary at a seq, at most the
 * applied one. A promote to an earlier point first persists its intent ({@code promotingToSeq}),
 * then rolls the replicas back through the undo log, syncs them, and persists the promoted state
 * with a new generation id in one atomic write; a promote interrupted anywhere in that is
 * finished when the group is opened again ({@link #finishInterrupted}), never left half done.
 *
 * <p>Threads: the promote runs as a command on the group's applier, between two batches (the
 * replicas then hold exactly the applied seq and nothing else writes them); the calling thread
 * waits for it. Afterwards the applier applies nothing more.
 */
public final class Promotion {
    /** Fail point: a promote to an earlier point persisted its intent and has not rolled back yet. */
    public static final String INTENT_PERSISTED = "promote.intent-persisted";
    /** Fail point: the replicas are at the promote's seq and synced; the promoted state is not written yet. */
    public static final String BEFORE_PROMOTED_STATE = "promote.before-promoted-state";

    private static final Logger LOG = LoggerFactory.getLogger(Promotion.class);

    private final String group;
    private final GroupStateStore state;
    private final ReplicaSet replicas;
    private final UndoRetention undo;
    private final Applier applier;

    Promotion(String group, GroupStateStore state, ReplicaSet replicas, UndoRetention undo, Applier applier) {
        this.group = group;
        this.state = state;
        this.replicas = replicas;
        this.undo = undo;
        this.applier = applier;
    }

    /**
     * Finishes a promote that a crash interrupted: rolls the rest back, syncs the replicas,
     * persists the promoted state. On the opening thread, before the applier starts.
     */
    static void finishInterrupted(String group, GroupStateStore state, ReplicaSet replicas, UndoRetention undo,
            long nowEpochNanos) throws IOException {
        long seq = state.current().promotingToSeq();
        LOG.warn("group {}: a promote to seq {} was interrupted; finishing the rollback before anything else", group,
                seq);
        undo.finishRollback(seq, replicas.rollbackTarget());
        replicas.force();
        GroupState promoted = state.update(s -> s.promoted(nowEpochNanos, seq));
        LOG.warn("group {}: promote to seq {} finished after the restart (generation {})", group, seq,
                promoted.generationId());
    }

    /**
     * Promotes at {@code seq} (see the class comment); durable deltas after the applied seq (a
     * backlog under load) are left unapplied in the journal rather than applied only to be
     * rolled back. With a {@code quiescence} check (promote to latest) the seq is the applied one,
     * and the check must find everything received durable and applied.
     *
     * @return the new generation id
     * @throws IllegalArgumentException if {@code seq} is after the applied seq or before the oldest recoverable seq
     * @throws IllegalStateException if the group is not quiescent when it must be, or applying stopped
     */
    long promoteTo(long pointSeq, long nowEpochNanos, Quiescence quiescence) throws IOException {
        return Commands.await(applier.call(() -> {
            long applied = applier.appliedSeq();
            long seq = pointSeq;
            if (quiescence != null) {
                quiescence.check(applied);
                seq = applied; // latest: whatever is applied now
            }
            long to = seq;
            if (seq > applied) {
                throw new IllegalArgumentException("group " + group + ": seq " + seq + " is not applied yet"
                        + " (applied " + applied + ")");
            }
            if (seq < applied) {
                if (seq < undo.oldestRecoverableSeq()) {
                    throw new IllegalArgumentException("group " + group + ": seq " + seq + " is before the oldest"
                            + " recoverable seq " + undo.oldestRecoverableSeq());
                }
                state.update(s -> s.withPromotingTo(to));
                FailPoints.hit(INTENT_PERSISTED);
                undo.rollback(to, applied, replicas.rollbackTarget());
            }
            replicas.force();
            FailPoints.hit(BEFORE_PROMOTED_STATE);
            GroupState promoted = state.update(s -> s.promoted(nowEpochNanos, to));
            applier.stopApplying(); // nothing may be applied to the promoted replicas
            return promoted.generationId();
        }));
    }

    /** Checks, on the applier thread, that nothing is left to apply before a promote to latest. */
    @FunctionalInterface
    interface Quiescence {
        void check(long appliedSeq);
    }
}
