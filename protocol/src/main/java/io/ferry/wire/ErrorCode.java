package io.ferry.wire;

/**
 * Why a replication session was refused or closed. Travels in {@link ErrorMessage} frames as
 * its {@link #wireCode()}; the numbers are part of the protocol and never change or get reused.
 */
public enum ErrorCode {
    /** The first four bytes of a frame header are not {@link Frames#MAGIC}. */
    BAD_MAGIC(1),
    /** A frame or HELLO names a protocol version this side does not speak. */
    UNSUPPORTED_VERSION(2),
    /** A frame header carries a type this side does not know. */
    UNKNOWN_TYPE(3),
    /** A frame body, or a delta's uncompressed data, is larger than the negotiated maximum. */
    FRAME_TOO_LARGE(4),
    /** A frame body is inconsistent: truncated, trailing bytes, bad counts, lengths or names. */
    MALFORMED(5),
    /** A delta's data does not decompress, or its xxHash64 differs from the one sent. */
    BAD_CHECKSUM(6),
    /** A delta does not start right after the last one received (or acked) for its group. */
    SEQUENCE_GAP(7),
    /** The agent id in HELLO is not configured on the receiver (or its certificate differs). */
    UNKNOWN_AGENT(8),
    /** The agent is not allowed to replicate into this group. */
    GROUP_NOT_ALLOWED(9),
    /** The group was promoted on the receiver; the agent is fenced and must not ship to it. */
    GROUP_PROMOTED(10),
    /** The peer failed on its own side (a bug or an I/O error), not because of what was sent. */
    INTERNAL(11),
    /**
     * The agent's data generation of a group is not the one the receiver's replicas follow (the
     * agent's state was lost or another agent reuses the name): nothing is applied.
     */
    GENERATION_MISMATCH(12);

    private static final ErrorCode[] BY_WIRE_CODE = new ErrorCode[values().length + 1]; // codes are 1..n

    static {
        for (ErrorCode c : values()) {
            BY_WIRE_CODE[c.wireCode] = c;
        }
    }

    private final int wireCode;

    ErrorCode(int wireCode) {
        this.wireCode = wireCode;
    }

    /** The stable number this code has on the wire (u16). */
    public int wireCode() {
        return wireCode;
    }

    /** The code with this wire number, or null if there is none. */
    public static ErrorCode ofWireCode(int wireCode) {
        return wireCode > 0 && wireCode < BY_WIRE_CODE.length ? BY_WIRE_CODE[wireCode] : null;
    }
}
