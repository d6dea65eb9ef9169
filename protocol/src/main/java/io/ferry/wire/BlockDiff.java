package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.List;

/**
 * The receiver's answer to a {@link BlockHashes}: the ranges of the region whose blocks differ
 * from the agent's at the region's seq (empty when the replica holds the region as the agent
 * did). Ranges are in order, inside {@code [offset, end)}, and do not overlap. Body:
 *
 * <pre>
 *   name group; i64 seq; u16 volume; i64 offset; i64 end; u16 count; count x { i64 offset; u32 length }
 * </pre>
 */
public record BlockDiff(String group, long seq, int volume, long offset, long end, List<Range> ranges)
        implements ControlMessage {

    /** One differing range. */
    public record Range(long offset, int length) {
    }

    public static final int MAX_RANGES = BlockHashes.MAX_COUNT;
    private static final String MESSAGE = "DIFF";

    public BlockDiff {
        WireCodec.checkName("group name", group);
        ranges = List.copyOf(ranges);
        if (seq < 0 || volume < 0 || volume > 0xFFFF || offset < 0 || end <= offset) {
            throw new IllegalArgumentException("seq " + seq + ", volume " + volume + ", region " + offset + ".." + end
                    + ": seq and offset must be >= 0, the volume 0..65535 and the region not empty");
        }
        if (ranges.size() > MAX_RANGES) {
            throw new IllegalArgumentException(ranges.size() + " ranges, the maximum is " + MAX_RANGES);
        }
        long at = offset;
        for (Range r : ranges) {
            if (r.offset() < at || r.length() <= 0 || r.offset() + r.length() > end) {
                throw new IllegalArgumentException("range " + r.offset() + "+" + r.length() + " is not in order inside "
                        + offset + ".." + end);
            }
            at = r.offset() + r.length();
        }
    }

    @Override
    public int frameType() {
        return Frames.DIFF;
    }

    @Override
    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(Frames.HEADER_BYTES + 1 + group.length() + 8 + 2 + 16 + 2 + ranges.size() * 12);
        int start = Frames.beginFrame(out, Frames.DIFF);
        WireCodec.writeName(out, group);
        out.writeLong(seq);
        out.writeShort(volume);
        out.writeLong(offset);
        out.writeLong(end);
        out.writeShort(ranges.size());
        for (Range r : ranges) {
            out.writeLong(r.offset());
            out.writeInt(r.length());
        }
        Frames.endFrame(out, start);
        return out;
    }

    /** Decodes a DIFF body. @throws ProtocolException MALFORMED */
    public static BlockDiff decode(ByteBuf body) {
        String group = WireCodec.readName(body, MESSAGE, "group");
        long seq = WireCodec.readNonNegativeLong(body, MESSAGE, "seq");
        int volume = WireCodec.readUnsignedShort(body, MESSAGE, "volume");
        long offset = WireCodec.readNonNegativeLong(body, MESSAGE, "offset");
        long end = WireCodec.readNonNegativeLong(body, MESSAGE, "end");
        int count = WireCodec.readCount(body, MAX_RANGES, 12, MESSAGE, "count");
        List<Range> ranges = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long at = WireCodec.readNonNegativeLong(body, MESSAGE, "ranges[" + i + "].offset");
            long length = WireCodec.readUnsignedInt(body, MESSAGE, "ranges[" + i + "].length");
            if (length > Integer.MAX_VALUE) {
                throw WireCodec.malformed(MESSAGE, "ranges[" + i + "].length is " + length);
            }
            ranges.add(new Range(at, (int) length));
        }
        WireCodec.expectEnd(body, MESSAGE);
        try {
            return new BlockDiff(group, seq, volume, offset, end, ranges);
        } catch (IllegalArgumentException e) {
            throw WireCodec.malformed(MESSAGE, e.getMessage());
        }
    }
}
