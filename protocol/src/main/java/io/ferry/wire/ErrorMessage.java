package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The last frame of a session that fails: why, as a stable {@link ErrorCode}, and a text for
 * the peer's log. Body: {@code u16 code; u16 textLength; UTF-8 text}. A text longer than
 * {@link #MAX_TEXT_CHARS} characters is cut (the constructor does it), so an error can always
 * be sent.
 */
public record ErrorMessage(ErrorCode code, String text) implements ControlMessage {

    public static final int MAX_TEXT_CHARS = 1000;
    /** Decode limit: {@link #MAX_TEXT_CHARS} characters of UTF-8 fit in it. */
    public static final int MAX_TEXT_BYTES = 4 * MAX_TEXT_CHARS;
    private static final String MESSAGE = "ERROR";

    public ErrorMessage {
        if (code == null) {
            throw new IllegalArgumentException("code is null");
        }
        text = text == null ? "" : text;
        if (text.length() > MAX_TEXT_CHARS) {
            int cut = MAX_TEXT_CHARS;
            if (Character.isHighSurrogate(text.charAt(cut - 1))) {
                cut--;
            }
            text = text.substring(0, cut);
        }
    }

    /** An ERROR for what a {@link ProtocolException} says. */
    public static ErrorMessage of(ProtocolException e) {
        return new ErrorMessage(e.code(), e.getMessage());
    }

    @Override
    public int frameType() {
        return Frames.ERROR;
    }

    @Override
    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(Frames.HEADER_BYTES + 4 + WireCodec.utf8Bytes(text));
        int start = Frames.beginFrame(out, Frames.ERROR);
        out.writeShort(code.wireCode());
        WireCodec.writeText(out, text);
        Frames.endFrame(out, start);
        return out;
    }

    /** Decodes an ERROR body. @throws ProtocolException MALFORMED, also for an unknown code */
    public static ErrorMessage decode(ByteBuf body) {
        int wireCode = WireCodec.readUnsignedShort(body, MESSAGE, "code");
        ErrorCode code = ErrorCode.ofWireCode(wireCode);
        if (code == null) {
            throw WireCodec.malformed(MESSAGE, "code " + wireCode + " is not a known error code");
        }
        String text = WireCodec.readText(body, MAX_TEXT_BYTES, MESSAGE, "text");
        WireCodec.expectEnd(body, MESSAGE);
        return new ErrorMessage(code, text);
    }
}
