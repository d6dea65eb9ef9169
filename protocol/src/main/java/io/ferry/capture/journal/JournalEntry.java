package io.ferry.capture.journal;

import java.nio.ByteBuffer;

/**
 * One journal record as a reusable holder: a reader overwrites it on every
 * {@link JournalReader#next}, growing {@link #data()} only when a larger record arrives.
 */
public final class JournalEntry {
    private String volume;
    private long seq;
    private long offset;
    private long length;
    private long captureNanos;
    private byte type;
    /** A heap buffer: Chronicle copies into a byte[] in bulk, into a ByteBuffer only byte by byte. */
    private ByteBuffer data = ByteBuffer.allocate(64 * 1024);

    public String volume() {
        return volume;
    }

    public long seq() {
        return seq;
    }

    public long offset() {
        return offset;
    }

    public long length() {
        return length;
    }

    public long captureNanos() {
        return captureNanos;
    }

    public byte type() {
        return type;
    }

    /** The payload of a WRITE (position 0, limit = length); empty for other types. */
    public ByteBuffer data() {
        return data;
    }

    /** Sets the header fields and returns a buffer cleared and sized for {@code payloadBytes}. */
    public ByteBuffer set(String volume, long seq, long offset, long length, long captureNanos, byte type,
                          int payloadBytes) {
        this.volume = volume;
        this.seq = seq;
        this.offset = offset;
        this.length = length;
        this.captureNanos = captureNanos;
        this.type = type;
        if (data.capacity() < payloadBytes) {
            data = ByteBuffer.allocate(Math.max(payloadBytes, data.capacity() * 2));
        }
        data.clear().limit(payloadBytes);
        return data;
    }
}
