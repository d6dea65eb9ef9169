package io.ferry.log;

import java.nio.ByteBuffer;

import net.openhft.chronicle.bytes.Bytes;

/**
 * The body of the record being appended ({@link RecordLog#beginAppend}), written straight into
 * the log's mapped file. Little-endian, like every number the engine writes. Valid until
 * {@link RecordLog#commitAppend} or {@link RecordLog#abortAppend}; owned by the append thread.
 */
public final class LogOutput {
    private Bytes<?> bytes;

    LogOutput() {
    }

    void bind(Bytes<?> target) {
        this.bytes = target;
    }

    long position() {
        return bytes.writePosition();
    }

    public LogOutput writeLong(long value) {
        bytes.writeLong(value);
        return this;
    }

    public LogOutput writeInt(int value) {
        bytes.writeInt(value);
        return this;
    }

    public LogOutput writeByte(byte value) {
        bytes.writeByte(value);
        return this;
    }

    public LogOutput writeUnsignedByte(int value) {
        bytes.writeUnsignedByte(value);
        return this;
    }

    /** Writes the ASCII characters of {@code s} (no length). */
    public LogOutput writeAscii(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            bytes.writeByte((byte) s.charAt(i));
        }
        return this;
    }

    /** Writes the readable bytes of {@code src} in bulk; its position is left unchanged. */
    public LogOutput write(ByteBuffer src) {
        int position = src.position();
        int want = src.remaining();
        bytes.writeSome(src);
        int written = src.position() - position;
        src.position(position);
        if (written != want) {
            throw new LogException("the log took " + written + " of " + want + " bytes of a record");
        }
        return this;
    }

    public LogOutput write(byte[] src, int offset, int length) {
        bytes.write(src, offset, length);
        return this;
    }
}
