package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/**
 * One received frame as {@link FrameDecoder} emits it: the type from its header and its body
 * (a retained slice of the inbound bytes, header stripped). Its reference count is the body's:
 * the handler that consumes it releases it exactly once ({@code frame.release()} or
 * {@code ReferenceCountUtil.release(msg)}), after the message decoded from it is no longer
 * needed (a decoded {@code Delta} may view the body's bytes).
 */
public record Frame(int type, ByteBuf body) implements ReferenceCounted {

    @Override
    public int refCnt() {
        return body.refCnt();
    }

    @Override
    public Frame retain() {
        body.retain();
        return this;
    }

    @Override
    public Frame retain(int increment) {
        body.retain(increment);
        return this;
    }

    @Override
    public Frame touch() {
        body.touch(this);
        return this;
    }

    @Override
    public Frame touch(Object hint) {
        body.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return body.release();
    }

    @Override
    public boolean release(int decrement) {
        return body.release(decrement);
    }

    @Override
    public String toString() {
        return Frames.typeName(type) + " frame, " + body.readableBytes() + " body bytes";
    }
}
