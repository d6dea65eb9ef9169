package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the inbound byte stream of a replication session into {@link Frame}s.
 *
 * <p>The header is checked as soon as its 12 bytes are in: magic, version, a known type, zero
 * flags, and a body length within the maximum. A violation fires a {@link ProtocolException}
 * (unwrapped) through {@code exceptionCaught} at once, before any of an oversized body is
 * buffered; from then on every inbound byte is discarded, since the stream can no longer be
 * framed, and the session is expected to send an ERROR and close. On a partial frame the reader
 * index is not moved.
 *
 * <p>Owned by its channel's event loop, like every {@code ByteToMessageDecoder}; not sharable.
 */
public final class FrameDecoder extends ByteToMessageDecoder {

    private int maxBodyBytes;
    private boolean failed;

    /** @param maxBodyBytes the largest body accepted, e.g. {@link Frames#DEFAULT_MAX_FRAME_BYTES} */
    public FrameDecoder(int maxBodyBytes) {
        setMaxBodyBytes(maxBodyBytes);
    }

    /** Changes the body limit for frames whose header is not read yet (after HELLO_ACK). Event loop only. */
    public void setMaxBodyBytes(int maxBodyBytes) {
        if (maxBodyBytes < 0) {
            throw new IllegalArgumentException("maxBodyBytes must be >= 0, was " + maxBodyBytes);
        }
        this.maxBodyBytes = maxBodyBytes;
    }

    public int maxBodyBytes() {
        return maxBodyBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (in.readableBytes() < Frames.HEADER_BYTES) {
            return;
        }
        int start = in.readerIndex();
        ProtocolException error = checkHeader(in, start);
        if (error != null) {
            failed = true;
            in.skipBytes(in.readableBytes());
            ctx.fireExceptionCaught(error);
            return;
        }
        int bodyLength = in.getInt(start + Frames.OFFSET_BODY_LENGTH);
        if (in.readableBytes() - Frames.HEADER_BYTES < bodyLength) {
            return;
        }
        int type = in.getUnsignedByte(start + Frames.OFFSET_TYPE);
        in.skipBytes(Frames.HEADER_BYTES);
        out.add(new Frame(type, in.readRetainedSlice(bodyLength)));
    }

    private ProtocolException checkHeader(ByteBuf in, int start) {
        int magic = in.getInt(start + Frames.OFFSET_MAGIC);
        if (magic != Frames.MAGIC) {
            return new ProtocolException(ErrorCode.BAD_MAGIC, String.format(
                    "frame header starts with 0x%08x, expected magic 0x%08x (\"FRRY\"); the peer does not speak"
                            + " ferry's replication protocol", magic, Frames.MAGIC));
        }
        int version = in.getUnsignedByte(start + Frames.OFFSET_VERSION);
        if (version != Frames.VERSION) {
            return new ProtocolException(ErrorCode.UNSUPPORTED_VERSION,
                    "frame header has version " + version + ", this side speaks version " + Frames.VERSION);
        }
        int type = in.getUnsignedByte(start + Frames.OFFSET_TYPE);
        if (!Frames.isKnownType(type)) {
            return new ProtocolException(ErrorCode.UNKNOWN_TYPE, "frame header has type " + type
                    + ", known types are " + Frames.HELLO + ".." + Frames.DIFF);
        }
        int flags = in.getUnsignedShort(start + Frames.OFFSET_FLAGS);
        if (flags != 0) {
            return new ProtocolException(ErrorCode.MALFORMED, Frames.typeName(type) + " frame header has flags 0x"
                    + Integer.toHexString(flags) + ", no flags are defined (must be 0)");
        }
        long bodyLength = in.getUnsignedInt(start + Frames.OFFSET_BODY_LENGTH);
        if (bodyLength > maxBodyBytes) {
            return new ProtocolException(ErrorCode.FRAME_TOO_LARGE, Frames.typeName(type) + " frame body length "
                    + bodyLength + " bytes exceeds the maximum of " + maxBodyBytes + " bytes");
        }
        return null;
    }
}
