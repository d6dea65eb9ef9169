package io.ferry.log;

import net.openhft.chronicle.bytes.Bytes;

/**
 * The body of the record a {@link LogReader} is at, read in place from the log's mapped file
 * (after the engine's seq header). Valid until the reader's next call; owned by the reader's
 * thread.
 */
public final class LogInput {
    private Bytes<?> bytes;

    LogInput() {
    }

    void bind(Bytes<?> source) {
        this.bytes = source;
    }

    public long readLong() {
        return bytes.readLong();
    }

    public int readInt() {
        return bytes.readInt();
    }

    public byte readByte() {
        return bytes.readByte();
    }

    public int readUnsignedByte() {
        return bytes.readUnsignedByte();
    }

    /** Bytes of the body not read yet. */
    public long remaining() {
        return bytes.readRemaining();
    }

    /** The byte {@code ahead} bytes after the read position, without moving it. */
    public byte peekByte(int ahead) {
        return bytes.readByte(bytes.readPosition() + ahead);
    }

    public void skip(int length) {
        bytes.readSkip(length);
    }

    /**
     * Copies exactly {@code length} bytes into {@code dst} in bulk (Chronicle's
     * read(ByteBuffer) copies byte by byte, read(byte[]) does not).
     */
    public void readFully(byte[] dst, int offset, int length) {
        int at = offset;
        int left = length;
        while (left > 0) {
            int n = bytes.read(dst, at, left);
            if (n <= 0) {
                throw new LogException("record ends " + left + " bytes short");
            }
            at += n;
            left -= n;
        }
    }
}
