package io.ferry.volume;

import java.nio.ByteBuffer;
import net.openhft.hashing.LongTupleHashFunction;

/**
 * The strong per-block hash both sides of a checksum sync and a verify compare: XXH3-128
 * (OpenHFT's zero-allocation-hashing), 16 bytes per block, big-endian high then low half.
 * Not thread-safe: one instance per thread (it keeps its result array).
 */
public final class BlockHasher {
    public static final int HASH_BYTES = 16;
    private static final LongTupleHashFunction XXH3_128 = LongTupleHashFunction.xx128();

    private final long[] result = new long[2];

    /** Hashes {@code [from, from + length)} of {@code buffer} (absolute indexes) into {@code out} at {@code outAt}. */
    public void hash(ByteBuffer buffer, int from, int length, byte[] out, int outAt) {
        XXH3_128.hashBytes(buffer, from, length, result);
        putLong(out, outAt, result[0]);
        putLong(out, outAt + 8, result[1]);
    }

    /** Whether the hash of {@code [from, from + length)} equals the one at {@code expectedAt} in {@code expected}. */
    public boolean matches(ByteBuffer buffer, int from, int length, byte[] expected, int expectedAt) {
        XXH3_128.hashBytes(buffer, from, length, result);
        return getLong(expected, expectedAt) == result[0] && getLong(expected, expectedAt + 8) == result[1];
    }

    private static void putLong(byte[] out, int at, long v) {
        ByteBuffer.wrap(out).putLong(at, v);
    }

    private static long getLong(byte[] in, int at) {
        return ByteBuffer.wrap(in).getLong(at);
    }
}
