package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;

/**
 * Field codecs shared by the message records and the delta codec. Every read checks that the
 * body holds the bytes it needs and throws a {@link ProtocolException} ({@code MALFORMED})
 * naming the message and field otherwise; nothing is sized from an unchecked network value.
 * Stateless.
 */
public final class WireCodec {

    public static final int MAX_NAME_BYTES = 64;

    private WireCodec() {
    }

    public static ProtocolException malformed(String message, String detail) {
        return new ProtocolException(ErrorCode.MALFORMED, message + ": " + detail);
    }

    /** Throws MALFORMED unless {@code body} has at least {@code bytes} readable bytes. */
    public static void need(ByteBuf body, int bytes, String message, String field) {
        if (body.readableBytes() < bytes) {
            throw malformed(message, "body truncated at byte " + body.readerIndex() + " reading " + field
                    + " (needs " + bytes + " bytes, " + body.readableBytes() + " left)");
        }
    }

    public static long readLong(ByteBuf body, String message, String field) {
        need(body, 8, message, field);
        return body.readLong();
    }

    public static int readInt(ByteBuf body, String message, String field) {
        need(body, 4, message, field);
        return body.readInt();
    }

    public static long readUnsignedInt(ByteBuf body, String message, String field) {
        need(body, 4, message, field);
        return body.readUnsignedInt();
    }

    public static int readUnsignedShort(ByteBuf body, String message, String field) {
        need(body, 2, message, field);
        return body.readUnsignedShort();
    }

    public static int readUnsignedByte(ByteBuf body, String message, String field) {
        need(body, 1, message, field);
        return body.readUnsignedByte();
    }

    /** Reads a u64 that must be in {@code 0..Long.MAX_VALUE}. */
    public static long readNonNegativeLong(ByteBuf body, String message, String field) {
        long v = readLong(body, message, field);
        if (v < 0) {
            throw malformed(message, field + " is " + v + ", must be >= 0");
        }
        return v;
    }

    /**
     * Reads a u16 element count and checks it against {@code max} and against the bytes left
     * ({@code minElementBytes} each), before anything is allocated for the elements.
     */
    public static int readCount(ByteBuf body, int max, int minElementBytes, String message, String field) {
        int count = readUnsignedShort(body, message, field);
        if (count > max) {
            throw malformed(message, field + " is " + count + ", the maximum is " + max);
        }
        if ((long) count * minElementBytes > body.readableBytes()) {
            throw malformed(message, field + " is " + count + " but only " + body.readableBytes()
                    + " body bytes are left (each element takes at least " + minElementBytes + ")");
        }
        return count;
    }

    /** True if {@code name} is {@code [A-Za-z0-9._-]{1,64}} and neither "." nor "..". No allocation. */
    public static boolean isValidName(CharSequence name) {
        int n = name == null ? 0 : name.length();
        if (n < 1 || n > MAX_NAME_BYTES) {
            return false;
        }
        boolean allDots = true;
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            if (!isNameChar(c)) {
                return false;
            }
            allDots &= c == '.';
        }
        return !(allDots && n <= 2);
    }

    private static boolean isNameChar(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '.' || c == '_' || c == '-';
    }

    /** Returns {@code name} if valid, else throws IllegalArgumentException naming {@code what}. */
    public static String checkName(String what, String name) {
        if (!isValidName(name)) {
            throw new IllegalArgumentException(what + " \"" + name + "\" is not a valid name; expected 1 to 64"
                    + " characters from A-Z a-z 0-9 . _ - (and not \".\" or \"..\")");
        }
        return name;
    }

    /** Writes a valid name as u8 length + ASCII. */
    public static void writeName(ByteBuf out, String name) {
        out.writeByte(name.length());
        out.writeCharSequence(name, StandardCharsets.US_ASCII);
    }

    /** Reads a u8-length ASCII name and checks it is a valid name. */
    public static String readName(ByteBuf body, String message, String field) {
        int length = readUnsignedByte(body, message, field + " length");
        if (length < 1 || length > MAX_NAME_BYTES) {
            throw malformed(message, field + " length is " + length + ", must be 1.." + MAX_NAME_BYTES);
        }
        need(body, length, message, field);
        int start = body.readerIndex();
        for (int i = 0; i < length; i++) {
            if (!isNameChar(body.getByte(start + i))) {
                throw malformed(message, field + " has byte 0x" + Integer.toHexString(body.getByte(start + i) & 0xff)
                        + " at position " + i + "; names are 1 to 64 characters from A-Z a-z 0-9 . _ -");
            }
        }
        String name = body.readCharSequence(length, StandardCharsets.US_ASCII).toString();
        if (!isValidName(name)) {
            throw malformed(message, field + " \"" + name + "\" is not a valid name (\".\" and \"..\" are refused)");
        }
        return name;
    }

    /** UTF-8 length of {@code text}. */
    public static int utf8Bytes(String text) {
        return ByteBufUtil.utf8Bytes(text);
    }

    /** Writes u16 length + UTF-8; the caller has checked the length fits. */
    public static void writeText(ByteBuf out, String text) {
        int lengthIndex = out.writerIndex();
        out.writeShort(0);
        int written = ByteBufUtil.writeUtf8(out, text);
        out.setShort(lengthIndex, written);
    }

    /** Reads u16 length + UTF-8 of at most {@code maxBytes}. */
    public static String readText(ByteBuf body, int maxBytes, String message, String field) {
        int length = readUnsignedShort(body, message, field + " length");
        if (length > maxBytes) {
            throw malformed(message, field + " length is " + length + " bytes, the maximum is " + maxBytes);
        }
        need(body, length, message, field);
        return body.readCharSequence(length, StandardCharsets.UTF_8).toString();
    }

    /** Throws MALFORMED if bytes are left after the last field. */
    public static void expectEnd(ByteBuf body, String message) {
        if (body.isReadable()) {
            throw malformed(message, body.readableBytes() + " trailing bytes after the last field (at byte "
                    + body.readerIndex() + ")");
        }
    }

    /** Writes a generation chain: a u16 count, then each generation's id and start seq. */
    public static void writeHistory(ByteBuf out, io.ferry.generation.GenerationHistory history) {
        out.writeShort(history.entries().size());
        for (io.ferry.generation.GenerationHistory.Entry entry : history.entries()) {
            out.writeLong(entry.id());
            out.writeLong(entry.startSeq());
        }
    }

    /** Reads a generation chain written by {@link #writeHistory}, checking it as it is built. */
    public static io.ferry.generation.GenerationHistory readHistory(ByteBuf body, String message, String field) {
        int count = readCount(body, io.ferry.generation.GenerationHistory.MAX_ENTRIES, 16, message, field + ".count");
        java.util.List<io.ferry.generation.GenerationHistory.Entry> entries = new java.util.ArrayList<>(count);
        try {
            for (int i = 0; i < count; i++) {
                long id = readLong(body, message, field + "[" + i + "].id");
                long startSeq = readLong(body, message, field + "[" + i + "].startSeq");
                entries.add(new io.ferry.generation.GenerationHistory.Entry(id, startSeq));
            }
            return new io.ferry.generation.GenerationHistory(entries);
        } catch (IllegalArgumentException e) {
            throw malformed(message, field + ": " + e.getMessage());
        }
    }
}
