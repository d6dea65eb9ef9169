package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The agent's hashes of one region of a volume as it was at {@code seq}, sent in order with the
 * group's deltas right after the one holding {@code seq}: the receiver hashes the same blocks of
 * its replica once it has applied exactly {@code seq} and answers with a {@link BlockDiff}. The
 * region is {@code count} blocks of {@code blockBytes} from {@code offset} (the last one ends at
 * the volume's end if that comes first). Each hash is 16 bytes (XXH3-128). Body:
 *
 * <pre>
 *   name group; i64 seq; u16 volume; i64 offset; u32 blockBytes; u16 count; count x 16 bytes
 * </pre>
 */
public record BlockHashes(String group, long seq, int volume, long offset, int blockBytes, byte[] hashes)
        implements ControlMessage {

    public static final int HASH_BYTES = 16;
    public static final int MIN_BLOCK_BYTES = 4096;
    public static final int MAX_BLOCK_BYTES = 1 << 20;
    public static final int MAX_COUNT = 4096;
    private static final String MESSAGE = "HASHES";

    public BlockHashes {
        WireCodec.checkName("group name", group);
        if (seq < 0) {
            throw new IllegalArgumentException("seq is " + seq + ", must be >= 0");
        }
        if (volume < 0 || volume > 0xFFFF) {
            throw new IllegalArgumentException("volume index is " + volume + ", must be 0..65535");
        }
        if (blockBytes < MIN_BLOCK_BYTES || blockBytes > MAX_BLOCK_BYTES || Integer.bitCount(blockBytes) != 1) {
            throw new IllegalArgumentException("blockBytes is " + blockBytes + ", must be a power of two from "
                    + MIN_BLOCK_BYTES + " to " + MAX_BLOCK_BYTES);
        }
        if (offset < 0 || offset % blockBytes != 0) {
            throw new IllegalArgumentException("offset is " + offset + ", must be >= 0 and a multiple of blockBytes "
                    + blockBytes);
        }
        if (hashes.length == 0 || hashes.length % HASH_BYTES != 0 || hashes.length / HASH_BYTES > MAX_COUNT) {
            throw new IllegalArgumentException(hashes.length + " bytes of hashes, must be 1.." + MAX_COUNT + " hashes of "
                    + HASH_BYTES + " bytes");
        }
    }

    public int count() {
        return hashes.length / HASH_BYTES;
    }

    /** The end of the region, before clipping to the volume's size. */
    public long end() {
        return offset + (long) count() * blockBytes;
    }

    @Override
    public int frameType() {
        return Frames.HASHES;
    }

    @Override
    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(Frames.HEADER_BYTES + 1 + group.length() + 8 + 2 + 8 + 4 + 2 + hashes.length);
        int start = Frames.beginFrame(out, Frames.HASHES);
        WireCodec.writeName(out, group);
        out.writeLong(seq);
        out.writeShort(volume);
        out.writeLong(offset);
        out.writeInt(blockBytes);
        out.writeShort(count());
        out.writeBytes(hashes);
        Frames.endFrame(out, start);
        return out;
    }

    /** Decodes a HASHES body. @throws ProtocolException MALFORMED */
    public static BlockHashes decode(ByteBuf body) {
        String group = WireCodec.readName(body, MESSAGE, "group");
        long seq = WireCodec.readNonNegativeLong(body, MESSAGE, "seq");
        int volume = WireCodec.readUnsignedShort(body, MESSAGE, "volume");
        long offset = WireCodec.readNonNegativeLong(body, MESSAGE, "offset");
        long blockBytes = WireCodec.readUnsignedInt(body, MESSAGE, "blockBytes");
        int count = WireCodec.readCount(body, MAX_COUNT, HASH_BYTES, MESSAGE, "count");
        byte[] hashes = new byte[count * HASH_BYTES];
        body.readBytes(hashes);
        WireCodec.expectEnd(body, MESSAGE);
        if (blockBytes > MAX_BLOCK_BYTES) {
            throw WireCodec.malformed(MESSAGE, "blockBytes is " + blockBytes + ", at most " + MAX_BLOCK_BYTES);
        }
        try {
            return new BlockHashes(group, seq, volume, offset, (int) blockBytes, hashes);
        } catch (IllegalArgumentException e) {
            throw WireCodec.malformed(MESSAGE, e.getMessage());
        }
    }
}
