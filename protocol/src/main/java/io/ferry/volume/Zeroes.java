package io.ferry.volume;

import java.nio.ByteBuffer;

/** Zero detection, by the JDK's vectorised {@link ByteBuffer#mismatch}. */
public final class Zeroes {
    private static final int CHUNK = 1 << 20;
    private static final ByteBuffer ZERO = ByteBuffer.allocateDirect(CHUNK).asReadOnlyBuffer();

    private Zeroes() {
    }

    /** Whether bytes {@code [from, to)} of {@code buffer} (absolute indexes) are all zero. */
    public static boolean allZero(ByteBuffer buffer, int from, int to) {
        for (int at = from; at < to; at += CHUNK) {
            int n = Math.min(CHUNK, to - at);
            if (buffer.slice(at, n).mismatch(ZERO.slice(0, n)) != -1) {
                return false;
            }
        }
        return true;
    }
}
