package io.ferry.capture.journal;

import io.ferry.log.LogInput;
import io.ferry.log.LogReader;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads a {@link ChronicleJournal} in seq order through a reader of the log engine, and decodes
 * each record into a {@link JournalEntry}. Owned by one thread (it may be created on another).
 * Volume names are interned in a small cache, so that reading allocates only for a name not
 * seen recently (and for a larger payload buffer, see {@link JournalEntry}).
 */
final class ChronicleJournalReader implements JournalReader {
    private static final int VOLUME_CACHE_SIZE = 16;

    private final String group;
    private final LogReader reader;
    private final String[] volumeCache = new String[VOLUME_CACHE_SIZE];
    private final byte[] nameBytes = new byte[ChronicleJournal.MAX_VOLUME_NAME_BYTES];
    private int volumeCacheNext;
    private boolean closed;

    ChronicleJournalReader(String group, LogReader reader) {
        this.group = group;
        this.reader = reader;
    }

    @Override
    public boolean next(JournalEntry into) {
        if (closed) {
            throw new IllegalStateException("reader of journal of group " + group + " is closed");
        }
        if (!reader.next()) {
            return false;
        }
        decode(reader.body(), reader.firstSeq(), into);
        return true;
    }

    private void decode(LogInput body, long seq, JournalEntry into) {
        long offset = body.readLong();
        long length = body.readLong();
        long captureNanos = body.readLong();
        byte type = body.readByte();
        String volume = volumeName(body, body.readUnsignedByte());
        int payloadBytes = type == Journal.WRITE ? (int) length : 0;
        if (body.remaining() != payloadBytes) {
            throw new JournalException("journal of group " + group + ": record of seq " + seq + " has "
                    + body.remaining() + " payload bytes, expected " + payloadBytes);
        }
        ByteBuffer data = into.set(volume, seq, offset, length, captureNanos, type, payloadBytes);
        if (payloadBytes > 0) {
            body.readFully(data.array(), data.arrayOffset(), payloadBytes);
        }
    }

    private String volumeName(LogInput body, int length) {
        for (String cached : volumeCache) {
            if (cached != null && cached.length() == length && matches(body, cached)) {
                body.skip(length);
                return cached;
            }
        }
        body.readFully(nameBytes, 0, length);
        String name = new String(nameBytes, 0, length, StandardCharsets.US_ASCII);
        volumeCache[volumeCacheNext] = name;
        volumeCacheNext = (volumeCacheNext + 1) % VOLUME_CACHE_SIZE;
        return name;
    }

    private static boolean matches(LogInput body, String name) {
        for (int i = 0; i < name.length(); i++) {
            if (body.peekByte(i) != (byte) name.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            reader.close();
        }
    }
}
