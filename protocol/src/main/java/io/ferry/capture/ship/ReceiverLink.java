package io.ferry.capture.ship;

import io.ferry.config.HostPort;
import io.ferry.time.EpochNanoClock;
import io.ferry.wire.Ack;
import io.ferry.wire.ErrorCode;
import io.ferry.wire.ErrorMessage;
import io.ferry.wire.Frame;
import io.ferry.wire.FrameDecoder;
import io.ferry.wire.Frames;
import io.ferry.wire.Heartbeat;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.ferry.wire.ProtocolException;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's one connection to its receiver: TLS 1.3 with the agent's certificate, HELLO on
 * connect, frames in both directions, heartbeats, and reconnects with capped exponential
 * backoff and jitter after any loss. Owned by its Netty event loop; {@link #send} may be called
 * from any thread.
 */
final class ReceiverLink implements Link {
    private static final Logger LOG = LoggerFactory.getLogger(ReceiverLink.class);
    private static final int HEARTBEAT_SECONDS = 2;
    private static final int READ_IDLE_SECONDS = 10;

    private final HostPort receiver;
    private final SslContext ssl;
    private final Supplier<Hello> hello;
    private final LinkListener listener;
    private final EpochNanoClock clock;
    private final EventLoopGroup loop;
    private final Bootstrap bootstrap;

    private volatile Channel channel;
    private volatile boolean ready;
    private volatile boolean closed;
    private volatile long connectionId;
    private volatile String lastProblem = "not connected yet";
    private final ReconnectBackoff backoff = new ReconnectBackoff(bound -> ThreadLocalRandom.current().nextLong(bound));
    private int maxFrameBytes = Frames.DEFAULT_MAX_FRAME_BYTES;

    ReceiverLink(HostPort receiver, SslContext ssl, Supplier<Hello> hello, LinkListener listener, EpochNanoClock clock) {
        this.clock = clock;
        this.receiver = receiver;
        this.ssl = ssl;
        this.hello = hello;
        this.listener = listener;
        boolean epoll = Epoll.isAvailable();
        this.loop = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("ferry-link", true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.bootstrap = new Bootstrap()
                .group(loop)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline()
                                .addLast("tls", ssl.newHandler(ch.alloc(), receiver.host(), receiver.port()))
                                .addLast("idle", new IdleStateHandler(READ_IDLE_SECONDS, HEARTBEAT_SECONDS, 0))
                                .addLast("frames", new FrameDecoder(Frames.DEFAULT_MAX_FRAME_BYTES))
                                .addLast("session", new SessionHandler());
                    }
                });
    }

    @Override
    public void start() {
        loop.execute(this::connect);
    }

    /** True once the receiver answered HELLO on the current connection. */
    @Override
    public boolean isReady() {
        return ready;
    }

    /** Why the link is down (or was last lost). */
    @Override
    public String lastProblem() {
        return lastProblem;
    }

    /** The negotiated maximum frame body; valid while ready. */
    int maxFrameBytes() {
        return maxFrameBytes;
    }

    /**
     * Sends a whole frame on connection {@code id}; takes ownership of {@code frame}. Dropped
     * (and released) when that connection is gone: the shipper resends from the journal after
     * the next HELLO_ACK anyway.
     */
    @Override
    public void send(long id, ByteBuf frame) {
        Channel ch = channel;
        if (ch == null || id != connectionId || !ready) {
            frame.release();
            return;
        }
        ch.writeAndFlush(frame, ch.voidPromise());
    }

    private void connect() {
        if (closed) {
            return;
        }
        ChannelFuture future = bootstrap.connect(receiver.host(), receiver.port());
        future.addListener(f -> {
            if (!f.isSuccess()) {
                problem("cannot connect to receiver " + receiver + ": " + rootMessage(f.cause()));
                scheduleReconnect();
            }
        });
    }

    private void scheduleReconnect() {
        if (closed) {
            return;
        }
        loop.schedule(this::connect, backoff.nextDelayMs(), TimeUnit.MILLISECONDS);
    }

    private void problem(String text) {
        if (!text.equals(lastProblem)) {
            LOG.warn("{}", text);
        }
        lastProblem = text;
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.toString() : root.getMessage();
    }

    @Override
    public void close() {
        closed = true;
        Channel ch = channel;
        if (ch != null) {
            ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        loop.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    /** The frames of one connection; runs on the link's event loop. */
    private final class SessionHandler extends SimpleChannelInboundHandler<Frame> {
        private long id;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.pipeline().get(SslHandler.class).handshakeFuture().addListener(f -> {
                if (!f.isSuccess()) {
                    problem("TLS handshake with receiver " + receiver + " failed: " + rootMessage(f.cause()));
                    ctx.close();
                    return;
                }
                id = connectionId + 1;
                connectionId = id;
                channel = ctx.channel();
                ctx.writeAndFlush(hello.get().encode(ctx.alloc()));
            });
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
            ByteBuf body = frame.body();
            switch (frame.type()) {
                case Frames.HELLO_ACK -> {
                    HelloAck ack = HelloAck.decode(body);
                    maxFrameBytes = ack.maxFrameBytes();
                    ready = true;
                    backoff.reset();
                    lastProblem = null;
                    LOG.info("connected to receiver {} (protocol v{}, TLS {})", receiver, ack.version(),
                            ctx.pipeline().get(SslHandler.class).engine().getSession().getProtocol());
                    listener.onHelloAck(id, ack);
                }
                case Frames.ACK -> listener.onAck(id, Ack.decode(body));
                case Frames.DIFF -> listener.onDiff(id, io.ferry.wire.BlockDiff.decode(body));
                case Frames.HEARTBEAT -> Heartbeat.decode(body);
                case Frames.ERROR -> {
                    ErrorMessage error = ErrorMessage.decode(body);
                    problem("receiver " + receiver + " refused the session: " + error.code() + ": " + error.text());
                    ctx.close();
                }
                default -> throw new ProtocolException(ErrorCode.UNKNOWN_TYPE,
                        "receiver sent a frame of type " + Frames.typeName(frame.type()) + " an agent does not accept");
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent idle) {
                if (idle.state() == io.netty.handler.timeout.IdleState.READER_IDLE) {
                    problem("receiver " + receiver + " silent for " + READ_IDLE_SECONDS + " s; reconnecting");
                    ctx.close();
                } else if (ready) {
                    ctx.writeAndFlush(new Heartbeat(clock.epochNanos()).encode(ctx.alloc()));
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof ProtocolException pe || cause.getCause() instanceof ProtocolException) {
                ProtocolException e = cause instanceof ProtocolException p ? p : (ProtocolException) cause.getCause();
                problem("protocol error from receiver " + receiver + ": " + e.getMessage());
                if (ctx.channel().isActive()) {
                    ctx.writeAndFlush(ErrorMessage.of(e).encode(ctx.alloc())).addListener(f -> ctx.close());
                    return;
                }
            } else {
                problem("connection to receiver " + receiver + " failed: " + rootMessage(cause));
            }
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            boolean wasReady = ready && id == connectionId;
            if (id == connectionId) {
                ready = false;
                channel = null;
            }
            if (wasReady && !closed) {
                problem("lost connection to receiver " + receiver);
            }
            if (id != 0) {
                listener.onDisconnected(id, lastProblem == null ? "connection closed" : lastProblem);
            }
            scheduleReconnect();
        }
    }
}
