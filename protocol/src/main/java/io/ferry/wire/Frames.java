package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * The frame layout of ferry's replication protocol. Every frame is a 12-byte header followed by
 * its body; all integers are big-endian:
 *
 * <pre>
 *   u32 magic        0x46525259 ("FRRY")
 *   u8  version      {@link #VERSION}
 *   u8  type         {@link #HELLO} .. {@link #DIFF}
 *   u16 flags        0 (no flags are defined; anything else is MALFORMED)
 *   u32 bodyLength   bytes of body that follow, at most the negotiated maximum
 * </pre>
 *
 * Inside bodies, names ({@code [A-Za-z0-9._-]{1,64}}) travel as u8 length + ASCII, texts as u16
 * length + UTF-8, counts as u16 or u32 as each message says.
 */
public final class Frames {

    public static final int MAGIC = 0x46525259;
    public static final int VERSION = 1;
    public static final int HEADER_BYTES = 12;

    public static final int HELLO = 1;
    public static final int HELLO_ACK = 2;
    public static final int DELTA = 3;
    public static final int ACK = 4;
    public static final int HEARTBEAT = 5;
    public static final int ERROR = 6;
    /** Reserved for the next protocol step (named recovery points); decodable now. */
    public static final int BOOKMARK = 7;
    /** A synchronization marker of a group, in order with its deltas ({@link SyncMark}). */
    public static final int SYNC = 8;
    /** The agent's hashes of a region at a seq ({@link BlockHashes}). */
    public static final int HASHES = 9;
    /** The receiver's answer to HASHES: the ranges that differ ({@link BlockDiff}). */
    public static final int DIFF = 10;

    /** Largest body a peer may send unless HELLO_ACK negotiated otherwise. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 40 << 20;

    static final int OFFSET_MAGIC = 0;
    static final int OFFSET_VERSION = 4;
    static final int OFFSET_TYPE = 5;
    static final int OFFSET_FLAGS = 6;
    static final int OFFSET_BODY_LENGTH = 8;

    private Frames() {
    }

    public static boolean isKnownType(int type) {
        return type >= HELLO && type <= DIFF;
    }

    /** The protocol name of a frame type, for log lines and messages. */
    public static String typeName(int type) {
        return switch (type) {
            case HELLO -> "HELLO";
            case HELLO_ACK -> "HELLO_ACK";
            case DELTA -> "DELTA";
            case ACK -> "ACK";
            case HEARTBEAT -> "HEARTBEAT";
            case ERROR -> "ERROR";
            case BOOKMARK -> "BOOKMARK";
            case SYNC -> "SYNC";
            case HASHES -> "HASHES";
            case DIFF -> "DIFF";
            default -> "type " + type;
        };
    }

    /**
     * Writes a frame header with a placeholder body length at the writer index of {@code out}
     * and returns the index where the frame starts, for {@link #endFrame}.
     */
    public static int beginFrame(ByteBuf out, int type) {
        int start = out.writerIndex();
        out.writeInt(MAGIC);
        out.writeByte(VERSION);
        out.writeByte(type);
        out.writeShort(0);
        out.writeInt(0);
        return start;
    }

    /** Sets the body length of the frame begun at {@code frameStart} to what was written since. */
    public static void endFrame(ByteBuf out, int frameStart) {
        out.setInt(frameStart + OFFSET_BODY_LENGTH, out.writerIndex() - frameStart - HEADER_BYTES);
    }
}
