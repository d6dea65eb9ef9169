package io.ferry.receiver.session;

import io.ferry.receiver.config.AllowedAgent;
import io.ferry.wire.FrameDecoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiver's replication port: TLS 1.3 with client certificates (the {@link SslContext} from
 * {@code TlsContexts.server}), then a {@link FrameDecoder} and a {@link ReplicationSession} per
 * connection. A peer refused by TLS (no certificate, another CA) never reaches a session; the
 * server keeps serving the others.
 *
 * <p>Threads: {@code ioThreads} event loops ({@code ferry-replication}, epoll when available,
 * NIO otherwise) own the connections; one {@code ferry-replication-attach} thread runs the
 * blocking step of HELLO (creating replica files). {@link #close} closes the listener and every
 * session and stops both.
 */
public final class ReplicationServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicationServer.class);
    private static final int DEFAULT_IO_THREADS = 2;

    private final EventLoopGroup group;
    private final ExecutorService attachExecutor;
    private final ChannelGroup channels;
    private final Channel serverChannel;

    private ReplicationServer(EventLoopGroup group, ExecutorService attachExecutor, ChannelGroup channels,
                              Channel serverChannel) {
        this.group = group;
        this.attachExecutor = attachExecutor;
        this.channels = channels;
        this.serverChannel = serverChannel;
    }

    /**
     * Binds {@code listen} (port 0 picks a free port, see {@link #address()}) and starts serving.
     *
     * @param receiverId the receiver's name, for messages
     * @param agents the agents allowed in (receiver.yaml)
     * @param links one per group some agent owns, keyed by group
     * @throws UncheckedIOException naming the address when it cannot be bound
     */
    public static ReplicationServer start(InetSocketAddress listen, SslContext sslContext, String receiverId,
                                          List<AllowedAgent> agents, Map<String, GroupLink> links,
                                          SessionSettings settings) {
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(sslContext, "sslContext");
        if (!sslContext.isServer()) {
            throw new IllegalArgumentException("the replication port needs a server SslContext");
        }
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory ioHandler = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(DEFAULT_IO_THREADS,
                new DefaultThreadFactory("ferry-replication", true), ioHandler);
        ExecutorService attachExecutor = Executors.newSingleThreadExecutor(
                new DefaultThreadFactory("ferry-replication-attach", true));
        SessionContext sessions;
        try {
            sessions = new SessionContext(receiverId, SessionContext.byId(agents), links, settings,
                    PeerIdentity.tls(), attachExecutor);
        } catch (RuntimeException e) {
            attachExecutor.shutdownNow();
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly();
            throw e;
        }
        ChannelGroup channels = new DefaultChannelGroup("replication", GlobalEventExecutor.INSTANCE);
        Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(channelType)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        ch.pipeline()
                                .addLast("tls", sslContext.newHandler(ch.alloc()))
                                .addLast("frames", new FrameDecoder(sessions.settings().maxHelloBytes()))
                                .addLast("session", new ReplicationSession(sessions));
                    }
                });
        var bound = bootstrap.bind(listen).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            channels.close().awaitUninterruptibly();
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly();
            attachExecutor.shutdownNow();
            Throwable cause = bound.cause();
            String hint = cause instanceof BindException ? " (is another daemon using it? pick another listen address)"
                    : "";
            throw new UncheckedIOException(new IOException("cannot listen for replication on " + listen + ": "
                    + cause.getMessage() + hint, cause));
        }
        channels.add(bound.channel());
        ReplicationServer server = new ReplicationServer(group, attachExecutor, channels, bound.channel());
        LOG.info("replication listening on {} (TLS 1.3, client certificates required; {} transport)",
                server.address(), epoll ? "epoll" : "nio");
        return server;
    }

    /** The bound address (the actual port when 0 was asked). */
    public InetSocketAddress address() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** Open connections (handshaking or in a session). */
    public int connectionCount() {
        int count = 0;
        for (Channel channel : channels) {
            if (!(channel instanceof ServerChannel)) {
                count++;
            }
        }
        return count;
    }

    /** Stops listening, closes every session, stops the threads. Idempotent. */
    @Override
    public void close() {
        channels.close().awaitUninterruptibly();
        attachExecutor.shutdown();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        try {
            if (!attachExecutor.awaitTermination(10, TimeUnit.SECONDS)) {
                attachExecutor.shutdownNow();
            }
        } catch (InterruptedException e) {
            attachExecutor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
