package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Where a synchronization of {@code group} stands, sent by the agent in order with the group's
 * deltas, right after the one holding {@code seq}: a sync {@link #BEGIN}s after {@code seq},
 * has read {@code doneBytes} of {@code totalBytes} ({@link #PROGRESS}) once the replica applied
 * {@code seq}, and {@link #END}s at {@code seq}: once the replica has applied it, it holds the
 * agent's volumes as they were at that seq. Body:
 *
 * <pre>
 *   name group; i64 seq; u8 phase; u8 kind; i64 totalBytes; i64 doneBytes
 * </pre>
 */
public record SyncMark(String group, long seq, int phase, int kind, long totalBytes, long doneBytes)
        implements ControlMessage {

    public static final int BEGIN = 1;
    public static final int PROGRESS = 2;
    public static final int END = 3;

    public static final int INITIAL = 1;
    public static final int RESYNC = 2;
    /** A verify: read-only unless asked to repair; it sends HASHES but no SYNC marks. */
    public static final int VERIFY = 3;

    private static final String MESSAGE = "SYNC";

    public SyncMark {
        WireCodec.checkName("group name", group);
        if (seq < 0) {
            throw new IllegalArgumentException("seq is " + seq + ", must be >= 0");
        }
        if (phase < BEGIN || phase > END) {
            throw new IllegalArgumentException("phase is " + phase + ", must be 1 (BEGIN), 2 (PROGRESS) or 3 (END)");
        }
        if (kind < INITIAL || kind > RESYNC) {
            throw new IllegalArgumentException("kind is " + kind + ", must be 1 (INITIAL) or 2 (RESYNC)");
        }
        if (totalBytes < 0 || doneBytes < 0 || doneBytes > totalBytes) {
            throw new IllegalArgumentException("doneBytes " + doneBytes + " of totalBytes " + totalBytes
                    + ": both must be >= 0 and done at most the total");
        }
    }

    /** The kind's name in status: {@code initial}, {@code resync} or {@code verify}. */
    public static String kindName(int kind) {
        return switch (kind) {
            case INITIAL -> "initial";
            case RESYNC -> "resync";
            default -> "verify";
        };
    }

    @Override
    public int frameType() {
        return Frames.SYNC;
    }

    @Override
    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(Frames.HEADER_BYTES + 1 + group.length() + 8 + 2 + 16);
        int start = Frames.beginFrame(out, Frames.SYNC);
        WireCodec.writeName(out, group);
        out.writeLong(seq);
        out.writeByte(phase);
        out.writeByte(kind);
        out.writeLong(totalBytes);
        out.writeLong(doneBytes);
        Frames.endFrame(out, start);
        return out;
    }

    /** Decodes a SYNC body. @throws ProtocolException MALFORMED */
    public static SyncMark decode(ByteBuf body) {
        String group = WireCodec.readName(body, MESSAGE, "group");
        long seq = WireCodec.readNonNegativeLong(body, MESSAGE, "seq");
        int phase = WireCodec.readUnsignedByte(body, MESSAGE, "phase");
        int kind = WireCodec.readUnsignedByte(body, MESSAGE, "kind");
        long totalBytes = WireCodec.readNonNegativeLong(body, MESSAGE, "totalBytes");
        long doneBytes = WireCodec.readNonNegativeLong(body, MESSAGE, "doneBytes");
        WireCodec.expectEnd(body, MESSAGE);
        try {
            return new SyncMark(group, seq, phase, kind, totalBytes, doneBytes);
        } catch (IllegalArgumentException e) {
            throw WireCodec.malformed(MESSAGE, e.getMessage());
        }
    }
}
