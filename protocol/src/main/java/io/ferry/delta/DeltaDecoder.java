package io.ferry.delta;

import static io.ferry.wire.WireCodec.malformed;

import io.ferry.wire.ErrorCode;
import io.ferry.wire.ProtocolException;
import io.ferry.wire.WireCodec;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4SafeDecompressor;
import net.jpountz.xxhash.XXHash64;

/**
 * Decodes DELTA bodies ({@link DeltaFormat}), checking every count, length and offset before it
 * is used and the xxHash64 of the data before the delta is returned. LZ4 data is decompressed
 * into a direct buffer this decoder owns, grown only after the declared size was checked against
 * {@code maxUncompressedBytes}; raw data is viewed in place in the body.
 *
 * <p>Owned by one thread (the receiver session's). The returned {@link Delta} is reused: it is
 * valid until the next {@link #decode} and while the body is not released.
 */
public final class DeltaDecoder {

    private static final String MESSAGE = "DELTA";

    private final int maxUncompressedBytes;
    private final LZ4SafeDecompressor decompressor = DeltaFormat.LZ4.safeDecompressor();
    private final XXHash64 xxHash = DeltaFormat.XXHASH.hash64();
    private final Delta delta = new Delta();
    private ByteBuffer buffer = ByteBuffer.allocateDirect(0);
    private String lastGroup;

    public DeltaDecoder(int maxUncompressedBytes) {
        if (maxUncompressedBytes < 0) {
            throw new IllegalArgumentException("maxUncompressedBytes must be >= 0, was " + maxUncompressedBytes);
        }
        this.maxUncompressedBytes = maxUncompressedBytes;
    }

    public int maxUncompressedBytes() {
        return maxUncompressedBytes;
    }

    /**
     * Decodes the readable bytes of a DELTA body (its reader index is left unchanged).
     *
     * @throws ProtocolException MALFORMED for inconsistent lengths, counts, types, offsets or order;
     *         FRAME_TOO_LARGE for uncompressed data over the maximum; BAD_CHECKSUM for data that
     *         does not decompress or whose xxHash64 differs
     */
    public Delta decode(ByteBuf frameBody) {
        ByteBuf body = frameBody.duplicate();
        String group = readGroup(body);
        long firstSeq = WireCodec.readLong(body, MESSAGE, "firstSeq");
        long lastSeq = WireCodec.readLong(body, MESSAGE, "lastSeq");
        if (firstSeq < 1 || lastSeq < firstSeq) {
            throw malformed(MESSAGE, "seq range " + firstSeq + ".." + lastSeq + " of group " + group
                    + " is not 1 <= firstSeq <= lastSeq");
        }
        long epoch = WireCodec.readLong(body, MESSAGE, "epoch");
        long firstCaptureNanos = WireCodec.readLong(body, MESSAGE, "firstCaptureNanos");
        long lastCaptureNanos = WireCodec.readLong(body, MESSAGE, "lastCaptureNanos");
        long uncompressedLength = WireCodec.readUnsignedInt(body, MESSAGE, "uncompressedLength");
        if (uncompressedLength > maxUncompressedBytes) {
            throw new ProtocolException(ErrorCode.FRAME_TOO_LARGE, "DELTA of group " + group + ": uncompressedLength "
                    + uncompressedLength + " bytes exceeds the maximum of " + maxUncompressedBytes + " bytes");
        }
        long extentCount = WireCodec.readUnsignedInt(body, MESSAGE, "extentCount");
        if (extentCount * DeltaFormat.EXTENT_BYTES > body.readableBytes()) {
            throw malformed(MESSAGE, "extentCount is " + extentCount + " but only " + body.readableBytes()
                    + " body bytes are left (" + DeltaFormat.EXTENT_BYTES + " per extent)");
        }
        delta.reset(group, firstSeq, lastSeq, epoch, firstCaptureNanos, lastCaptureNanos, (int) extentCount);

        int previousVolume = -1;
        long previousEnd = 0;
        for (int i = 0; i < extentCount; i++) {
            int volumeIndex = body.readUnsignedShort();
            byte type = body.readByte();
            byte reserved = body.readByte();
            long dataOffset = body.readUnsignedInt();
            long offset = body.readLong();
            long length = body.readLong();
            if (!DeltaFormat.isValidType(type)) {
                throw malformed(MESSAGE, "extent " + i + " has type " + type + ", expected 1 (WRITE), 2 (WRITE_ZEROES) or 3 (TRIM)");
            }
            if (reserved != 0) {
                throw malformed(MESSAGE, "extent " + i + " has reserved byte " + reserved + ", must be 0");
            }
            if (offset < 0 || length <= 0 || offset > Long.MAX_VALUE - length) {
                throw malformed(MESSAGE, "extent " + i + " offset " + offset + " length " + length
                        + " is not offset >= 0, length > 0 without overflow of offset + length");
            }
            if (volumeIndex < previousVolume || (volumeIndex == previousVolume && offset < previousEnd)) {
                throw malformed(MESSAGE, "extent " + i + " (volume " + volumeIndex + ", offset " + offset
                        + ") overlaps or precedes extent " + (i - 1) + " (volume " + previousVolume + ", end "
                        + previousEnd + "); extents must be sorted by volume and offset without overlap");
            }
            if (type == DeltaFormat.WRITE ? dataOffset + length > uncompressedLength : dataOffset != 0) {
                throw malformed(MESSAGE, "extent " + i + " (" + DeltaFormat.typeName(type) + ") has dataOffset "
                        + dataOffset + " length " + length + ", outside the " + uncompressedLength + " data bytes"
                        + " (WRITE extents lie within the data, others have dataOffset 0)");
            }
            previousVolume = volumeIndex;
            previousEnd = offset + length;
            delta.addExtent(volumeIndex, type, offset, length, (int) dataOffset);
        }

        long expectedHash = WireCodec.readLong(body, MESSAGE, "xxHash64");
        int flags = WireCodec.readUnsignedByte(body, MESSAGE, "flags");
        if ((flags & ~DeltaFormat.FLAG_LZ4) != 0) {
            throw malformed(MESSAGE, "flags 0x" + Integer.toHexString(flags) + " has unknown bits (only 0x1 LZ4 is defined)");
        }
        long storedLength = WireCodec.readUnsignedInt(body, MESSAGE, "storedLength");
        if (storedLength != body.readableBytes()) {
            throw malformed(MESSAGE, "storedLength is " + storedLength + " but " + body.readableBytes()
                    + " bytes follow it to the end of the body");
        }
        boolean compressed = (flags & DeltaFormat.FLAG_LZ4) != 0;
        int length = (int) uncompressedLength;
        ByteBuffer data;
        if (compressed) {
            data = decompress(body, (int) storedLength, length, group);
        } else {
            if (storedLength != uncompressedLength) {
                throw malformed(MESSAGE, "raw data: storedLength " + storedLength
                        + " differs from uncompressedLength " + uncompressedLength);
            }
            data = length == 0 ? ByteBuffer.allocate(0) : body.nioBuffer(body.readerIndex(), length);
        }
        long actualHash = xxHash.hash(data, data.position(), length, DeltaFormat.XXHASH_SEED);
        if (actualHash != expectedHash) {
            throw new ProtocolException(ErrorCode.BAD_CHECKSUM, String.format(
                    "DELTA of group %s seq %d..%d: xxHash64 of the %d data bytes is %016x, the frame says %016x",
                    group, firstSeq, lastSeq, length, actualHash, expectedHash));
        }
        delta.setData(data.slice(data.position(), length).asReadOnlyBuffer(), length, compressed);
        return delta;
    }

    private ByteBuffer decompress(ByteBuf body, int storedLength, int length, String group) {
        if (buffer.capacity() < length) {
            long grown = Math.max(length, Math.min((long) maxUncompressedBytes, (long) buffer.capacity() * 2));
            buffer = ByteBuffer.allocateDirect((int) grown);
        }
        ByteBuffer source = body.nioBuffer(body.readerIndex(), storedLength);
        int produced;
        try {
            produced = decompressor.decompress(source, source.position(), storedLength, buffer, 0, length);
        } catch (LZ4Exception | IndexOutOfBoundsException e) {
            throw new ProtocolException(ErrorCode.BAD_CHECKSUM, "DELTA of group " + group
                    + ": LZ4 data of " + storedLength + " bytes is corrupt (" + e.getMessage() + ")");
        }
        if (produced != length) {
            throw new ProtocolException(ErrorCode.BAD_CHECKSUM, "DELTA of group " + group + ": LZ4 data decompresses to "
                    + produced + " bytes, uncompressedLength says " + length);
        }
        return buffer;
    }

    private String readGroup(ByteBuf body) {
        int length = WireCodec.readUnsignedByte(body, MESSAGE, "group length");
        int start = body.readerIndex();
        if (lastGroup != null && length == lastGroup.length() && body.readableBytes() >= length) {
            boolean same = true;
            for (int i = 0; i < length && same; i++) {
                same = body.getByte(start + i) == lastGroup.charAt(i);
            }
            if (same) {
                body.skipBytes(length);
                return lastGroup;
            }
        }
        body.readerIndex(start - 1);
        lastGroup = WireCodec.readName(body, MESSAGE, "group");
        return lastGroup;
    }
}
