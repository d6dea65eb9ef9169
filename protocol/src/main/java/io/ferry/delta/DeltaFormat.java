package io.ferry.delta;

import net.jpountz.lz4.LZ4Factory;
import net.jpountz.xxhash.XXHashFactory;

/**
 * The body of a DELTA frame (all integers big-endian):
 *
 * <pre>
 *   name group                      u8 length + ASCII, [A-Za-z0-9._-]{1,64}
 *   i64  firstSeq, lastSeq          1 &lt;= firstSeq &lt;= lastSeq: the records the delta covers
 *   i64  epoch
 *   i64  firstCaptureNanos, lastCaptureNanos
 *   u32  uncompressedLength         bytes of data once decompressed
 *   u32  extentCount
 *   extentCount x {                 {@link #EXTENT_BYTES} each, sorted by (volumeIndex, offset),
 *     u16 volumeIndex                not overlapping: applying them in any order gives the same
 *     u8  type                       state, the one after lastSeq
 *     u8  reserved (0)
 *     u32 dataOffset                WRITE: where its bytes start in the data; others: 0
 *     i64 offset, i64 length        offset &gt;= 0, length &gt; 0, offset + length without overflow;
 *                                    WRITE: dataOffset + length &lt;= uncompressedLength
 *   }
 *   i64  xxHash64                   of the uncompressed data, seed {@link #XXHASH_SEED}
 *   u8   flags                      {@link #FLAG_LZ4} or 0 (raw: LZ4 did not make it smaller)
 *   u32  storedLength               bytes that follow, up to the end of the body
 *   data                            LZ4 block or raw; may hold a few overwritten bytes that no
 *                                    extent refers to (the encoder skips compacting them when
 *                                    they are at most 1/16 of the data)
 * </pre>
 *
 * WRITE_ZEROES and TRIM extents carry no data; both mean the range reads as zeroes afterwards.
 */
public final class DeltaFormat {

    /** Extent types, the same values as the agent journal's record types. */
    public static final byte WRITE = 1;
    public static final byte WRITE_ZEROES = 2;
    public static final byte TRIM = 3;

    public static final int EXTENT_BYTES = 24;
    public static final int FLAG_LZ4 = 1;
    public static final long XXHASH_SEED = 0L;
    public static final int MAX_VOLUME_INDEX = 0xFFFF;

    static final LZ4Factory LZ4 = Lz4Native.lz4();
    static final XXHashFactory XXHASH = Lz4Native.xxhash();

    private DeltaFormat() {
    }

    public static boolean isValidType(int type) {
        return type >= WRITE && type <= TRIM;
    }

    public static String typeName(int type) {
        return switch (type) {
            case WRITE -> "WRITE";
            case WRITE_ZEROES -> "WRITE_ZEROES";
            case TRIM -> "TRIM";
            default -> "type " + type;
        };
    }
}
