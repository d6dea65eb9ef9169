package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Keeps an idle session alive and measures round trips. Body: {@code i64 sentEpochNanos}. */
public record Heartbeat(long sentEpochNanos) implements ControlMessage {

    private static final String MESSAGE = "HEARTBEAT";

    @Override
    public int frameType() {
        return Frames.HEARTBEAT;
    }

    @Override
    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(Frames.HEADER_BYTES + 8);
        int start = Frames.beginFrame(out, Frames.HEARTBEAT);
        out.writeLong(sentEpochNanos);
        Frames.endFrame(out, start);
        return out;
    }

    /** Decodes a HEARTBEAT body. @throws ProtocolException MALFORMED */
    public static Heartbeat decode(ByteBuf body) {
        long sent = WireCodec.readLong(body, MESSAGE, "sentEpochNanos");
        WireCodec.expectEnd(body, MESSAGE);
        return new Heartbeat(sent);
    }
}
