package io.ferry.api;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's request queue: answers requests one at a time, in arrival order, so that a
 * pipelining client gets its responses in order even though handlers finish on other threads.
 * Reading pauses while {@value #MAX_QUEUED} requests wait.
 *
 * <p>Threads: every field is owned by the connection's event loop; replies made on handler
 * threads come back to it through {@code ctx.executor()}.
 */
final class ApiConnectionHandler extends ChannelInboundHandlerAdapter {

    /** What the aggregator passes on instead of a request whose body is over the limit. */
    record Oversized(boolean closeAfter) {
    }

    private static final Logger log = LoggerFactory.getLogger(ApiConnectionHandler.class);
    private static final int MAX_QUEUED = 16;

    private final ApiDispatcher dispatcher;
    private final int maxBodyBytes;
    private final ArrayDeque<Object> queued = new ArrayDeque<>();
    private boolean busy;
    private boolean closing;

    ApiConnectionHandler(ApiDispatcher dispatcher, int maxBodyBytes) {
        this.dispatcher = dispatcher;
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing || !(msg instanceof FullHttpRequest || msg instanceof Oversized)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        queued.add(msg);
        if (queued.size() >= MAX_QUEUED) {
            ctx.channel().config().setAutoRead(false);
        }
        if (!busy) {
            next(ctx);
        }
    }

    private void next(ChannelHandlerContext ctx) {
        Object msg = queued.poll();
        if (msg == null) {
            return;
        }
        if (queued.size() < MAX_QUEUED && !ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
        busy = true;
        if (msg instanceof Oversized oversized) {
            ApiReply reply = ApiReply.error(413, "body_too_large",
                    "the request body is over the limit of " + maxBodyBytes + " bytes");
            onReply(ctx, oversized.closeAfter() ? reply.closing() : reply, true);
            return;
        }
        FullHttpRequest request = (FullHttpRequest) msg;
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        dispatcher.dispatch(request, reply -> {
            if (ctx.executor().inEventLoop()) {
                onReply(ctx, reply, keepAlive);
                return;
            }
            try {
                ctx.executor().execute(() -> onReply(ctx, reply, keepAlive));
            } catch (RejectedExecutionException stopping) {
                log.debug("API event loop stopped before a reply could be sent");
            }
        });
    }

    private void onReply(ChannelHandlerContext ctx, ApiReply reply, boolean keepAlive) {
        FullHttpResponse response = reply.toResponse();
        boolean keep = keepAlive && !reply.closeAfter() && !closing;
        HttpUtil.setKeepAlive(response, keep);
        if (!keep) {
            closing = true;
            releaseQueued();
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        busy = false;
        next(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && !busy) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        releaseQueued();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("API connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        closing = true;
        releaseQueued();
        ctx.close();
    }

    private void releaseQueued() {
        Object msg;
        while ((msg = queued.poll()) != null) {
            ReferenceCountUtil.release(msg);
        }
    }
}
