package io.ferry.receiver.session;

import io.ferry.replica.store.GroupTarget;
import io.ferry.replica.status.GroupView;
import io.ferry.wire.ErrorCode;
import io.ferry.wire.ProtocolException;
import io.netty.buffer.ByteBuf;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * The receiving end of one consistency group: which agent owns it, which session (at most one)
 * currently replicates into it, and what arrived. Sessions come and go; the link lives as long as
 * the receiver.
 *
 * <p>Threads: sessions of different connections may run on different event loops, so the owner
 * and the append path are guarded by this object's monitor (held for a few field reads and the
 * non-blocking hand-over to the group's journal). That makes "only the current owner appends, and
 * only right after the last received seq" atomic: a superseded session can never slip a delta in
 * after its successor read the resume point. The status API reads the volatile counters and the
 * unapplied-delta ring (under the monitor) from its handler threads.
 */
public final class GroupLink {

    /** Deltas remembered for the lag of not-yet-applied data; beyond this, the newest are merged. */
    static final int UNAPPLIED_CAPACITY = 4096;

    private final String group;
    private final String agentId;
    private final GroupTarget target;
    private final GroupView view;

    private ReplicationSession owner;
    private volatile boolean promoted;
    private volatile boolean connected;
    private volatile long bytesReceived;
    private volatile long deltasReceived;
    private volatile long lastDeltaFirstSeq;
    /** The capture of the writes made at this site since the promote; null until promoted. */
    private volatile io.ferry.capture.GroupCapture drCapture;

    // Ring of (lastSeq, firstCaptureNanos) of received deltas not known to be applied, oldest first.
    private final long[] unappliedLastSeq = new long[UNAPPLIED_CAPACITY];
    private final long[] unappliedCaptureNanos = new long[UNAPPLIED_CAPACITY];
    private int unappliedHead;
    private int unappliedCount;

    /** A link to a target that is its own status view (the receiver's replica, the tests' fake). */
    public GroupLink(String group, String agentId, GroupTarget target) {
        this(group, agentId, target, viewOf(target));
    }

    /** A link whose status comes from {@code view}. */
    public GroupLink(String group, String agentId, GroupTarget target, GroupView view) {
        this.group = Objects.requireNonNull(group, "group");
        this.agentId = Objects.requireNonNull(agentId, "agentId");
        this.target = Objects.requireNonNull(target, "target");
        this.view = Objects.requireNonNull(view, "view");
    }

    private static GroupView viewOf(GroupTarget target) {
        if (target instanceof GroupView view) {
            return view;
        }
        throw new IllegalArgumentException("target " + target + " is no GroupView; pass the group's view");
    }

    public String group() {
        return group;
    }

    /** The agent receiver.yaml lets write this group. */
    public String agentId() {
        return agentId;
    }

    /** Where the sessions hand deltas, bookmarks and volumes. */
    public GroupTarget target() {
        return target;
    }

    /** The group's read-only status (seqs, failure, undo window, drill). */
    public GroupView view() {
        return view;
    }

    /** Whether a session currently owns the group (HELLO accepted, connection open). */
    public boolean connected() {
        return connected;
    }

    /** DELTA body bytes (as they travelled, compressed) handed to the journal since start. */
    public long bytesReceived() {
        return bytesReceived;
    }

    public long deltasReceived() {
        return deltasReceived;
    }

    /** First seq of the last delta received since start; 0 when none. */
    public long lastDeltaFirstSeq() {
        return lastDeltaFirstSeq;
    }

    /**
     * Capture time (epoch nanos) of the oldest write received after {@code appliedSeq}, as far as
     * this link saw it arrive; -1 when it did not (nothing unapplied, or received before a restart).
     */
    public synchronized long oldestUnappliedCaptureNanos(long appliedSeq) {
        dropApplied(appliedSeq);
        return unappliedCount == 0 ? -1 : unappliedCaptureNanos[unappliedHead];
    }

    /** Whether the group was promoted at this site: sessions are refused with GROUP_PROMOTED. */
    public boolean promoted() {
        return promoted;
    }

    /** How the agent's copy stood to this one at its last HELLO (generation chains); null before one. */
    private volatile io.ferry.generation.GenerationHistory.Relation agentRelation;

    public io.ferry.generation.GenerationHistory.Relation agentRelation() {
        return agentRelation;
    }

    void agentRelation(io.ferry.generation.GenerationHistory.Relation relation) {
        this.agentRelation = relation;
    }

    /**
     * The last seq of this copy in its newest generation's seq space: the applied seq, plus, once
     * promoted, the writes captured at this site since.
     */
    public long lastSeq() {
        io.ferry.capture.GroupCapture capture = drCapture;
        return target.appliedSeq() + (capture == null ? 0 : capture.pipeline().capturedSeq());
    }

    /** The capture side that records the writes made at the DR site since the promote, or null. */
    public io.ferry.capture.GroupCapture drCapture() {
        return drCapture;
    }

    /** Set once the promoted group's volumes are exported through {@code capture}. */
    public void drCapture(io.ferry.capture.GroupCapture capture) {
        this.drCapture = capture;
    }

    /**
     * Fences the group: from now on no session owns it, {@link #append} refuses every delta with
     * GROUP_PROMOTED and HELLO answers it with status PROMOTED. The current session (if any) is
     * told to close with an ERROR frame GROUP_PROMOTED. Idempotent.
     */
    public void fence() {
        ReplicationSession previous;
        synchronized (this) {
            promoted = true;
            previous = owner;
            owner = null;
            connected = false;
        }
        if (previous != null) {
            previous.fenced(group);
        }
    }

    /** The error a promoted group answers a delta with. */
    ProtocolException promotedError() {
        return new ProtocolException(ErrorCode.GROUP_PROMOTED, "group " + group + " was promoted at the DR site;"
                + " this receiver takes no more deltas for it");
    }

    /** Makes {@code session} the owner and returns the one it replaces (to be closed), or null. */
    synchronized ReplicationSession takeOver(ReplicationSession session) {
        if (promoted) {
            throw promotedError();
        }
        ReplicationSession previous = owner;
        owner = session;
        connected = true;
        return previous == session ? null : previous;
    }

    /** Gives up ownership if {@code session} still has it. */
    synchronized void release(ReplicationSession session) {
        if (owner == session) {
            owner = null;
            connected = false;
        }
    }

    synchronized boolean isOwner(ReplicationSession session) {
        return owner == session;
    }

    /**
     * Hands a validated DELTA body to the group if {@code session} still owns it and the delta
     * starts right after the last received seq. Takes the body's reference in every case.
     *
     * @return false (body released) if another session has taken the group over
     * @throws ProtocolException GROUP_PROMOTED once the group was promoted, SEQUENCE_GAP when {@code firstSeq} does not follow the received seq,
     *         INTERNAL when the group cannot take it (failed or closed)
     */
    synchronized boolean append(ReplicationSession session, ByteBuf body, long firstSeq, long lastSeq,
                                long firstCaptureNanos, long lastCaptureNanos, LongConsumer onDurable) {
        if (promoted) {
            body.release();
            throw promotedError();
        }
        if (owner != session) {
            body.release();
            return false;
        }
        long receivedSeq = target.receivedSeq();
        if (firstSeq != receivedSeq + 1) {
            body.release();
            throw new ProtocolException(ErrorCode.SEQUENCE_GAP, "DELTA of group " + group + " starts at seq "
                    + firstSeq + " but the receiver holds up to seq " + receivedSeq + " (expected " + (receivedSeq + 1)
                    + "); resume from the durable seq of HELLO_ACK");
        }
        int bodyBytes = body.readableBytes();
        try {
            target.append(body, firstSeq, lastSeq, lastCaptureNanos, onDurable);
        } catch (RuntimeException e) {
            String failure = target.failure();
            throw new ProtocolException(ErrorCode.INTERNAL, "group " + group + " cannot take DELTA " + firstSeq + ".."
                    + lastSeq + ": " + (failure != null ? failure : e.getMessage()));
        }
        bytesReceived += bodyBytes;
        deltasReceived++;
        lastDeltaFirstSeq = firstSeq;
        remember(lastSeq, firstCaptureNanos);
        return true;
    }

    private void remember(long lastSeq, long firstCaptureNanos) {
        dropApplied(target.appliedSeq());
        if (unappliedCount == UNAPPLIED_CAPACITY) {
            // keep the oldest (they give the lag); the newest entry absorbs this delta
            unappliedLastSeq[(unappliedHead + unappliedCount - 1) % UNAPPLIED_CAPACITY] = lastSeq;
            return;
        }
        int tail = (unappliedHead + unappliedCount) % UNAPPLIED_CAPACITY;
        unappliedLastSeq[tail] = lastSeq;
        unappliedCaptureNanos[tail] = firstCaptureNanos;
        unappliedCount++;
    }

    private void dropApplied(long appliedSeq) {
        while (unappliedCount > 0 && unappliedLastSeq[unappliedHead] <= appliedSeq) {
            unappliedHead = (unappliedHead + 1) % UNAPPLIED_CAPACITY;
            unappliedCount--;
        }
    }

    @Override
    public String toString() {
        return "group " + group + " (agent " + agentId + ")";
    }
}
