package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Reserved for the next protocol step: names the recovery point of {@code group} at
 * {@code seq} (a delta boundary) with an operator's label. Body:
 * {@code name group; i64 seq; u16 labelLength; UTF-8 label (at most 256 bytes)}.
 */
public record Bookmark(String group, long seq, String label) implements ControlMessage {

    public static final int MAX_LABEL_BYTES = 256;
    private static final String MESSAGE = "BOOKMARK";

    public Bookmark {
        WireCodec.checkName("group name", group);
        if (seq < 0) {
            throw new IllegalArgumentException("seq is " + seq + ", must be >= 0");
        }
        if (label == null) {
            throw new IllegalArgumentException("label is null");
        }
        int labelBytes = WireCodec.utf8Bytes(label);
        if (labelBytes > MAX_LABEL_BYTES) {
            throw new IllegalArgumentException("label is " + labelBytes + " bytes of UTF-8, the maximum is "
                    + MAX_LABEL_BYTES);
        }
    }

    @Override
    public int frameType() {
        return Frames.BOOKMARK;
    }

    @Override
    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(Frames.HEADER_BYTES + 1 + group.length() + 10 + MAX_LABEL_BYTES);
        int start = Frames.beginFrame(out, Frames.BOOKMARK);
        WireCodec.writeName(out, group);
        out.writeLong(seq);
        WireCodec.writeText(out, label);
        Frames.endFrame(out, start);
        return out;
    }

    /** Decodes a BOOKMARK body. @throws ProtocolException MALFORMED */
    public static Bookmark decode(ByteBuf body) {
        String group = WireCodec.readName(body, MESSAGE, "group");
        long seq = WireCodec.readNonNegativeLong(body, MESSAGE, "seq");
        String label = WireCodec.readText(body, MAX_LABEL_BYTES, MESSAGE, "label");
        WireCodec.expectEnd(body, MESSAGE);
        try {
            return new Bookmark(group, seq, label);
        } catch (IllegalArgumentException e) {
            throw WireCodec.malformed(MESSAGE, e.getMessage());
        }
    }
}
