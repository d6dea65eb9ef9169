package io.ferry.nbd;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD server (fixed newstyle, structured replies, base:allocation) exporting
 * {@link BlockDevice}s over TCP and/or a Unix domain socket. Uses the epoll transport when
 * available, NIO otherwise. Start with {@link #start}; {@link #close} closes the listeners and
 * every connection, stops the event loops and removes the socket file.
 *
 * <p>Threads: {@code ioThreads} event loops own the connections (each connection stays on one);
 * the exports are looked up per negotiation, so the {@link NbdExports} may change at runtime.
 */
public final class NbdServer implements AutoCloseable {

    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;

    private static final Logger log = LoggerFactory.getLogger(NbdServer.class);
    private static final int MIN_RECEIVE_BYTES = 512;
    private static final int INITIAL_RECEIVE_BYTES = 16 * 1024;
    private static final int MAX_RECEIVE_BYTES = 256 * 1024;
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(1 << 20, 8 << 20);

    /**
     * Server settings.
     *
     * @param tcp             TCP address to listen on (port 0 picks a free one), or null for none
     * @param unixSocket      Unix domain socket path to listen on, or null for none
     * @param ioThreads       event-loop threads serving connections
     * @param maxPayloadBytes largest READ or WRITE accepted (the advertised maximum block size),
     *                        a power of two from 4 KiB to 1 GiB
     */
    public record Options(InetSocketAddress tcp, Path unixSocket, int ioThreads, int maxPayloadBytes) {

        public Options {
            if (tcp == null && unixSocket == null) {
                throw new IllegalArgumentException("NBD server needs a TCP address or a Unix socket path");
            }
            if (ioThreads < 1) {
                throw new IllegalArgumentException("NBD ioThreads must be at least 1, got " + ioThreads);
            }
            if (maxPayloadBytes < 4096 || maxPayloadBytes > (1 << 30) || Integer.bitCount(maxPayloadBytes) != 1) {
                throw new IllegalArgumentException("NBD maxPayloadBytes must be a power of two from 4096 to 1 GiB, got "
                        + maxPayloadBytes);
            }
        }

        /** TCP only, with default threads (up to 4) and a 32 MiB maximum payload. */
        public static Options tcp(InetSocketAddress address) {
            return new Options(address, null, defaultIoThreads(), DEFAULT_MAX_PAYLOAD_BYTES);
        }

        /** Unix socket only, with default threads and payload limit. */
        public static Options unix(Path socket) {
            return new Options(null, socket, defaultIoThreads(), DEFAULT_MAX_PAYLOAD_BYTES);
        }

        /** TCP on 127.0.0.1 with a free port picked by the kernel; for tests and demos. */
        public static Options loopback() {
            return tcp(new InetSocketAddress("127.0.0.1", 0));
        }

        public Options withTcp(InetSocketAddress address) {
            return new Options(address, unixSocket, ioThreads, maxPayloadBytes);
        }

        public Options withUnixSocket(Path socket) {
            return new Options(tcp, socket, ioThreads, maxPayloadBytes);
        }

        public Options withIoThreads(int threads) {
            return new Options(tcp, unixSocket, threads, maxPayloadBytes);
        }

        public Options withMaxPayloadBytes(int bytes) {
            return new Options(tcp, unixSocket, ioThreads, bytes);
        }

        private static int defaultIoThreads() {
            return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        }
    }

    private final EventLoopGroup group;
    private final ChannelGroup channels;
    private final Channel tcpChannel;
    private final Channel unixChannel;
    private final Path unixSocket;

    private NbdServer(EventLoopGroup group, ChannelGroup channels, Channel tcpChannel, Channel unixChannel,
                      Path unixSocket) {
        this.group = group;
        this.channels = channels;
        this.tcpChannel = tcpChannel;
        this.unixChannel = unixChannel;
        this.unixSocket = unixSocket;
    }

    /**
     * Binds the listeners and starts serving {@code exports}. A stale socket file at
     * {@code options.unixSocket()} is replaced.
     *
     * @throws UncheckedIOException when a listener cannot be bound
     */
    public static NbdServer start(Options options, NbdExports exports) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(exports, "exports");
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory ioHandler = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(options.ioThreads(),
                new DefaultThreadFactory("ferry-nbd", true), ioHandler);
        ChannelGroup channels = new DefaultChannelGroup("nbd", GlobalEventExecutor.INSTANCE);
        Channel tcp = null;
        Channel unix = null;
        try {
            if (options.tcp() != null) {
                tcp = bind(group, channels, options, exports,
                        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class, true, options.tcp());
            }
            if (options.unixSocket() != null) {
                Files.deleteIfExists(options.unixSocket());
                SocketAddress address = epoll ? new DomainSocketAddress(options.unixSocket().toFile())
                        : UnixDomainSocketAddress.of(options.unixSocket());
                unix = bind(group, channels, options, exports,
                        epoll ? EpollServerDomainSocketChannel.class : NioServerDomainSocketChannel.class, false, address);
            }
        } catch (IOException | RuntimeException e) {
            channels.close().awaitUninterruptibly();
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly();
            deleteSocketQuietly(options.unixSocket());
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot start NBD server: " + io.getMessage(), io);
            }
            throw (RuntimeException) e;
        }
        NbdServer server = new NbdServer(group, channels, tcp, unix, options.unixSocket());
        log.info("NBD server listening on {}{} ({} transport, {} I/O threads)",
                tcp == null ? "" : "tcp " + server.tcpAddress(),
                unix == null ? "" : (tcp == null ? "" : " and ") + "unix " + options.unixSocket(),
                epoll ? "epoll" : "nio", options.ioThreads());
        return server;
    }

    private static Channel bind(EventLoopGroup group, ChannelGroup channels, Options options, NbdExports exports,
                                Class<? extends ServerChannel> type, boolean tcp, SocketAddress address)
            throws IOException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(type)
                .childOption(ChannelOption.RECVBUF_ALLOCATOR,
                        new AdaptiveRecvByteBufAllocator(MIN_RECEIVE_BYTES, INITIAL_RECEIVE_BYTES, MAX_RECEIVE_BYTES))
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        ch.pipeline().addLast("nbd-handshake",
                                new NbdHandshakeHandler(exports, options.maxPayloadBytes()));
                    }
                });
        if (tcp) {
            bootstrap.childOption(ChannelOption.TCP_NODELAY, true);
            bootstrap.option(ChannelOption.SO_REUSEADDR, true);
        }
        var future = bootstrap.bind(address).awaitUninterruptibly();
        if (!future.isSuccess()) {
            throw new IOException("cannot listen on " + address + ": " + future.cause().getMessage(), future.cause());
        }
        channels.add(future.channel());
        return future.channel();
    }

    /** The bound TCP address (the actual port when 0 was asked), or null without a TCP listener. */
    public InetSocketAddress tcpAddress() {
        return tcpChannel == null ? null : (InetSocketAddress) tcpChannel.localAddress();
    }

    /** The Unix socket path, or null without a Unix listener. */
    public Path unixSocket() {
        return unixChannel == null ? null : unixSocket;
    }

    /** Client connections currently open (negotiating or transmitting). */
    public int connectionCount() {
        int count = 0;
        for (Channel channel : channels) {
            if (!(channel instanceof ServerChannel)) {
                count++;
            }
        }
        return count;
    }

    /** Closes the listeners and every connection, stops the event loops, removes the socket file. */
    @Override
    public void close() {
        channels.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        deleteSocketQuietly(unixSocket);
    }

    private static void deleteSocketQuietly(Path socket) {
        if (socket == null) {
            return;
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log.warn("could not remove NBD socket {}: {}", socket, e.getMessage());
        }
    }
}
