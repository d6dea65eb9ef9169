package io.ferry.receiver;

import io.ferry.wire.GroupAck;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.ferry.wire.SyncMark;

import io.ferry.wire.ControlMessage;
import io.ferry.wire.Frame;
import io.ferry.wire.FrameDecoder;
import io.ferry.wire.Frames;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A bare agent end of the replication protocol for tests: TLS client, frames in, control messages out. */
final class TestAgentConnection implements AutoCloseable {

    static final long TIMEOUT_SECONDS = 10;

    final Channel channel;
    final SslHandler ssl;
    private final BlockingQueue<ControlMessage> queue;

    private TestAgentConnection(Channel channel, BlockingQueue<ControlMessage> queue) {
        this.channel = channel;
        this.ssl = channel.pipeline().get(SslHandler.class);
        this.queue = queue;
    }

    static TestAgentConnection connect(EventLoopGroup group, SslContext client, InetSocketAddress server)
            throws InterruptedException {
        BlockingQueue<ControlMessage> queue = new LinkedBlockingQueue<>();
        Channel channel = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(client.newHandler(ch.alloc(), server.getHostString(), server.getPort()),
                                new FrameDecoder(Frames.DEFAULT_MAX_FRAME_BYTES),
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        Frame frame = (Frame) msg;
                                        try {
                                            queue.add(ControlMessage.decode(frame));
                                        } finally {
                                            frame.release();
                                        }
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        ctx.close();
                                    }
                                });
                    }
                })
                .connect(server).sync().channel();
        return new TestAgentConnection(channel, queue);
    }

    void send(ControlMessage message) {
        send(message.encode(channel.alloc()));
    }

    void send(ByteBuf frame) {
        channel.writeAndFlush(frame);
    }

    /**
     * Sends {@code hello} and returns the receiver's HELLO_ACK; for every group the receiver asks
     * to sync, answers as an agent whose journal holds every write since its volumes were created
     * empty does: BEGIN and END at the durable seq (the replica then holds the volumes).
     */
    HelloAck hello(Hello hello) throws InterruptedException {
        send(hello);
        ControlMessage reply = next();
        if (!(reply instanceof HelloAck ack)) {
            throw new AssertionError("expected HELLO_ACK, got " + reply);
        }
        for (GroupAck group : ack.groups()) {
            if (group.needsSync()) {
                send(new SyncMark(group.name(), group.durableSeq(), SyncMark.BEGIN, SyncMark.INITIAL, 0, 0));
                send(new SyncMark(group.name(), group.durableSeq(), SyncMark.END, SyncMark.INITIAL, 0, 0));
            }
        }
        return ack;
    }

    /** The next message from the receiver, or null if none came within the timeout. */
    ControlMessage next() throws InterruptedException {
        return queue.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** A message already received, or null; after {@link #awaitClosed} it tells whether any came at all. */
    ControlMessage nextNow() {
        return queue.poll();
    }

    boolean awaitClosed() throws InterruptedException {
        return channel.closeFuture().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
