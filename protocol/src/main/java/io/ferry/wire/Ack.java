package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The receiver holds every write of {@code group} up to {@code durableSeq} durable (synced in its
 * journal); the agent may release its journal up to there. Body: {@code name group; i64 durableSeq}.
 */
public record Ack(String group, long durableSeq) implements ControlMessage {

    private static final String MESSAGE = "ACK";

    public Ack {
        WireCodec.checkName("group name", group);
        if (durableSeq < 0) {
            throw new IllegalArgumentException("durableSeq is " + durableSeq + ", must be >= 0");
        }
    }

    @Override
    public int frameType() {
        return Frames.ACK;
    }

    @Override
    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(Frames.HEADER_BYTES + 1 + group.length() + 8);
        int start = Frames.beginFrame(out, Frames.ACK);
        WireCodec.writeName(out, group);
        out.writeLong(durableSeq);
        Frames.endFrame(out, start);
        return out;
    }

    /** Decodes an ACK body. @throws ProtocolException MALFORMED */
    public static Ack decode(ByteBuf body) {
        String group = WireCodec.readName(body, MESSAGE, "group");
        long durableSeq = WireCodec.readNonNegativeLong(body, MESSAGE, "durableSeq");
        WireCodec.expectEnd(body, MESSAGE);
        return new Ack(group, durableSeq);
    }
}
