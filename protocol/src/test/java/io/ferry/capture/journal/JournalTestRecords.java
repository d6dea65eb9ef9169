package io.ferry.capture.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;

/** Record contents that tests can check from the seq alone. */
final class JournalTestRecords {
    /** 16 records of 4 KiB: a segment size counts the records, not Chronicle's per-file header. */
    static final long SMALL_SEGMENT_BYTES = 64 * 1024;
    static final int CRASH_RECORD_BYTES = 256 * 1024;

    private JournalTestRecords() {
    }

    static ByteBuffer fill(ByteBuffer buffer, long seq, int sizeBytes) {
        buffer.clear().limit(sizeBytes);
        for (int i = 0; i < sizeBytes; i++) {
            buffer.put(i, (byte) (seq * 31 + i));
        }
        return buffer;
    }

    static ByteBuffer payload(long seq, int sizeBytes) {
        return fill(ByteBuffer.allocate(sizeBytes), seq, sizeBytes);
    }

    static void assertPayload(JournalEntry entry, int sizeBytes) {
        ByteBuffer data = entry.data();
        assertThat(data.position()).isZero();
        assertThat(data.limit()).isEqualTo(sizeBytes);
        for (int i = 0; i < sizeBytes; i++) {
            if (data.get(i) != (byte) (entry.seq() * 31 + i)) {
                throw new AssertionError("payload of seq " + entry.seq() + " differs at byte " + i);
            }
        }
    }
}
