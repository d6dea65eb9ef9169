package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Every frame except DELTA (which {@code io.ferry.delta} encodes and decodes). Each is an
 * immutable record whose constructor validates its fields, whose {@link #encode} produces the
 * whole frame and whose static {@code decode(ByteBuf body)} reads a body and throws
 * {@link ProtocolException} for anything malformed.
 */
public sealed interface ControlMessage permits Hello, HelloAck, Ack, Heartbeat, ErrorMessage, Bookmark,
        SyncMark, BlockHashes, BlockDiff {

    /** The frame type this message travels as ({@link Frames}). */
    int frameType();

    /** The whole frame, header included, in a new buffer from {@code alloc} that the caller owns. */
    ByteBuf encode(ByteBufAllocator alloc);

    /**
     * Decodes the body of a non-DELTA frame. Does not release the frame.
     *
     * @throws ProtocolException MALFORMED for a bad body, UNKNOWN_TYPE for DELTA or an unknown type
     */
    static ControlMessage decode(Frame frame) {
        return decode(frame.type(), frame.body().duplicate());
    }

    /** Decodes a body of frame type {@code type}, reading it from its reader index. */
    static ControlMessage decode(int type, ByteBuf body) {
        return switch (type) {
            case Frames.HELLO -> Hello.decode(body);
            case Frames.HELLO_ACK -> HelloAck.decode(body);
            case Frames.ACK -> Ack.decode(body);
            case Frames.HEARTBEAT -> Heartbeat.decode(body);
            case Frames.ERROR -> ErrorMessage.decode(body);
            case Frames.BOOKMARK -> Bookmark.decode(body);
            case Frames.SYNC -> SyncMark.decode(body);
            case Frames.HASHES -> BlockHashes.decode(body);
            case Frames.DIFF -> BlockDiff.decode(body);
            default -> throw new ProtocolException(ErrorCode.UNKNOWN_TYPE,
                    Frames.typeName(type) + " is not a control message type");
        };
    }
}
