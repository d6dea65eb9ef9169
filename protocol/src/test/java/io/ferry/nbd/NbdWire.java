package io.ferry.nbd;

import static io.ferry.nbd.NbdProtocol.*;

import java.io.DataInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Builds and parses raw NBD bytes for tests that speak the protocol by hand. */
final class NbdWire {

    private NbdWire() {
    }

    static byte[] clientFlags(int flags) {
        return ByteBuffer.allocate(4).putInt(flags).array();
    }

    static byte[] option(int option, byte[] data) {
        return ByteBuffer.allocate(16 + data.length).putLong(IHAVEOPT).putInt(option).putInt(data.length)
                .put(data).array();
    }

    static byte[] goData(String export, int... infoRequests) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buffer = ByteBuffer.allocate(4 + name.length + 2 + 2 * infoRequests.length);
        buffer.putInt(name.length).put(name).putShort((short) infoRequests.length);
        for (int info : infoRequests) {
            buffer.putShort((short) info);
        }
        return buffer.array();
    }

    static byte[] metaContextData(String export, String... queries) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        int length = 4 + name.length + 4;
        for (String query : queries) {
            length += 4 + query.getBytes(StandardCharsets.UTF_8).length;
        }
        ByteBuffer buffer = ByteBuffer.allocate(length);
        buffer.putInt(name.length).put(name).putInt(queries.length);
        for (String query : queries) {
            byte[] bytes = query.getBytes(StandardCharsets.UTF_8);
            buffer.putInt(bytes.length).put(bytes);
        }
        return buffer.array();
    }

    static byte[] request(int flags, int type, long cookie, long offset, long length) {
        return ByteBuffer.allocate(REQUEST_HEADER_BYTES).putInt(REQUEST_MAGIC).putShort((short) flags)
                .putShort((short) type).putLong(cookie).putLong(offset).putInt((int) length).array();
    }

    static byte[] write(int flags, long cookie, long offset, byte[] payload) {
        return ByteBuffer.allocate(REQUEST_HEADER_BYTES + payload.length)
                .put(request(flags, CMD_WRITE, cookie, offset, payload.length)).put(payload).array();
    }

    static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        ByteBuffer buffer = ByteBuffer.allocate(length);
        for (byte[] part : parts) {
            buffer.put(part);
        }
        return buffer.array();
    }

    static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    record Greeting(long magic, long ihaveopt, int flags) {
    }

    static Greeting readGreeting(DataInput in) throws IOException {
        return new Greeting(in.readLong(), in.readLong(), in.readUnsignedShort());
    }

    record OptionReply(int option, int type, byte[] data) {
        ByteBuffer buffer() {
            return ByteBuffer.wrap(data);
        }

        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    static OptionReply readOptionReply(DataInput in) throws IOException {
        long magic = in.readLong();
        if (magic != OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic 0x" + Long.toHexString(magic));
        }
        int option = in.readInt();
        int type = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    /** A simple reply (type -1, no payload read) or one structured chunk with its payload. */
    record Reply(boolean structured, int errno, int flags, int type, long cookie, byte[] payload) {
        ByteBuffer buffer() {
            return ByteBuffer.wrap(payload);
        }
    }

    static Reply readReply(DataInput in) throws IOException {
        int magic = in.readInt();
        if (magic == SIMPLE_REPLY_MAGIC) {
            int errno = in.readInt();
            return new Reply(false, errno, 0, -1, in.readLong(), new byte[0]);
        }
        if (magic != STRUCTURED_REPLY_MAGIC) {
            throw new IOException("bad reply magic 0x" + Integer.toHexString(magic));
        }
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long cookie = in.readLong();
        byte[] payload = new byte[in.readInt()];
        in.readFully(payload);
        int errno = (type & 0x8000) != 0 ? ByteBuffer.wrap(payload).getInt() : 0;
        return new Reply(true, errno, flags, type, cookie, payload);
    }
}
