package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The receiver's answer to HELLO: the protocol version chosen, the largest frame body it
 * accepts from now on, and per group where the agent resumes and whether it may ship. Body:
 *
 * <pre>
 *   u8 version; u32 maxFrameBytes; u16 groupCount;
 *   groupCount x { name group; i64 durableSeq; i64 generationId; u8 status }
 * </pre>
 */
public record HelloAck(int version, int maxFrameBytes, List<GroupAck> groups) implements ControlMessage {

    /** The smallest maximum a receiver may announce: room for HELLO-sized control frames. */
    public static final int MIN_MAX_FRAME_BYTES = 64 << 10;
    private static final String MESSAGE = "HELLO_ACK";

    public HelloAck {
        if (version < 1 || version > 255) {
            throw new IllegalArgumentException("version is " + version + ", must be 1..255");
        }
        if (maxFrameBytes < MIN_MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("maxFrameBytes is " + maxFrameBytes + ", must be at least "
                    + MIN_MAX_FRAME_BYTES);
        }
        groups = List.copyOf(groups);
        if (groups.size() > Hello.MAX_GROUPS) {
            throw new IllegalArgumentException(groups.size() + " groups, the maximum is " + Hello.MAX_GROUPS);
        }
        Set<String> seen = new HashSet<>();
        for (GroupAck g : groups) {
            if (!seen.add(g.name())) {
                throw new IllegalArgumentException("group " + g.name() + " is listed twice");
            }
        }
    }

    @Override
    public int frameType() {
        return Frames.HELLO_ACK;
    }

    @Override
    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(Frames.HEADER_BYTES + 7
                + groups.size() * (GroupAck.MIN_WIRE_BYTES + WireCodec.MAX_NAME_BYTES + 2 + 2 * 16));
        int start = Frames.beginFrame(out, Frames.HELLO_ACK);
        out.writeByte(version);
        out.writeInt(maxFrameBytes);
        out.writeShort(groups.size());
        for (GroupAck g : groups) {
            WireCodec.writeName(out, g.name());
            out.writeLong(g.durableSeq());
            out.writeLong(g.generationId());
            out.writeByte(g.status());
            WireCodec.writeHistory(out, g.history());
        }
        Frames.endFrame(out, start);
        return out;
    }

    /** Decodes a HELLO_ACK body. @throws ProtocolException MALFORMED */
    public static HelloAck decode(ByteBuf body) {
        int version = WireCodec.readUnsignedByte(body, MESSAGE, "version");
        long maxFrameBytes = WireCodec.readUnsignedInt(body, MESSAGE, "maxFrameBytes");
        if (maxFrameBytes < MIN_MAX_FRAME_BYTES || maxFrameBytes > Integer.MAX_VALUE) {
            throw WireCodec.malformed(MESSAGE, "maxFrameBytes is " + maxFrameBytes + ", must be "
                    + MIN_MAX_FRAME_BYTES + ".." + Integer.MAX_VALUE);
        }
        int groupCount = WireCodec.readCount(body, Hello.MAX_GROUPS, GroupAck.MIN_WIRE_BYTES, MESSAGE, "groupCount");
        List<GroupAck> groups = new ArrayList<>(groupCount);
        for (int g = 0; g < groupCount; g++) {
            String field = "groups[" + g + "]";
            String name = WireCodec.readName(body, MESSAGE, field + ".name");
            long durableSeq = WireCodec.readNonNegativeLong(body, MESSAGE, field + ".durableSeq");
            long generationId = WireCodec.readLong(body, MESSAGE, field + ".generationId");
            int status = WireCodec.readUnsignedByte(body, MESSAGE, field + ".status");
            var history = WireCodec.readHistory(body, MESSAGE, field + ".history");
            try {
                groups.add(new GroupAck(name, durableSeq, generationId, status, history));
            } catch (IllegalArgumentException e) {
                throw WireCodec.malformed(MESSAGE, e.getMessage());
            }
        }
        WireCodec.expectEnd(body, MESSAGE);
        try {
            return new HelloAck(version, (int) maxFrameBytes, groups);
        } catch (IllegalArgumentException e) {
            throw WireCodec.malformed(MESSAGE, e.getMessage());
        }
    }
}
