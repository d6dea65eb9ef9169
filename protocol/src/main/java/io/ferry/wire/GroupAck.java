package io.ferry.wire;

import io.ferry.generation.GenerationHistory;
/**
 * The receiver's answer for one group in HELLO_ACK: the seq up to which it holds the group
 * durable (the agent resumes at {@code durableSeq + 1}; 0 when it holds nothing), its generation
 * id for the group, whether the agent may ship ({@link #STATUS_OK}), and the chain of
 * generations of the receiver's copy (a promote starts one).
 */
public record GroupAck(String name, long durableSeq, long generationId, int status, GenerationHistory history) {

    public static final int STATUS_OK = 0;
    /** The group was promoted on the receiver: the agent is fenced and must not ship. */
    public static final int STATUS_PROMOTED = 1;
    /** The agent is not allowed to replicate into this group. */
    public static final int STATUS_NOT_ALLOWED = 2;
    /**
     * The replica does not hold the agent's volumes yet and holds nothing else (the receiver made
     * it empty): the agent ships from {@code durableSeq + 1} and syncs what its volumes hold, data
     * only (holes and zeroes are holes at the replica already).
     */
    public static final int STATUS_SYNC_EMPTY = 3;
    /**
     * The replica does not hold the agent's volumes and may hold other data (a replica placed
     * there, or one a sync had begun on): the agent ships from {@code durableSeq + 1} and syncs
     * every region, zero regions included.
     */
    public static final int STATUS_SYNC_ALL = 4;

    static final int MIN_WIRE_BYTES = 1 + 1 + 8 + 8 + 1 + 2 + 16;

    /** An answer whose receiver side has the agent's generation chain alone (or none to tell). */
    public GroupAck(String name, long durableSeq, long generationId, int status) {
        this(name, durableSeq, generationId, status, GenerationHistory.of(generationId == 0 ? 1 : generationId));
    }

    public GroupAck {
        WireCodec.checkName("group name", name);
        if (durableSeq < 0) {
            throw new IllegalArgumentException("group " + name + " durableSeq is " + durableSeq + ", must be >= 0");
        }
        if (status < STATUS_OK || status > STATUS_SYNC_ALL) {
            throw new IllegalArgumentException("group " + name + " status is " + status
                    + ", must be 0 (OK), 1 (PROMOTED), 2 (NOT_ALLOWED), 3 (SYNC_EMPTY) or 4 (SYNC_ALL)");
        }
    }

    /** Whether the agent may ship (a sync may be asked for as well). */
    public boolean ok() {
        return status == STATUS_OK || needsSync();
    }

    /** Whether the receiver asks for a sync of the group's volumes. */
    public boolean needsSync() {
        return status == STATUS_SYNC_EMPTY || status == STATUS_SYNC_ALL;
    }
}
