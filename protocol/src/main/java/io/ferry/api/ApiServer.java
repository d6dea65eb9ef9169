package io.ferry.api;

import io.ferry.config.HostPort;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemons' HTTP/1.1 management API server (keep-alive, JSON). {@code GET /healthz} and
 * {@code GET /metrics} are open; every other route needs {@code Authorization: Bearer <token>}.
 * Request bodies are bounded ({@value #MAX_BODY_BYTES} bytes; 413 beyond). See {@link Routes} for
 * routing and {@link ApiHandler} for what a handler may do.
 *
 * <p>Threads: one event loop ({@code ferry-api-io}) owns the connections and never blocks; it
 * answers {@code /healthz} itself, so health checks get through while handlers are slow.
 * Handlers and the metrics supplier run on {@value #HANDLER_THREADS} handler threads
 * ({@code ferry-api-handler}) with up to {@value #HANDLER_QUEUE} requests waiting; beyond that the
 * server answers 503. Each connection is answered in request order.
 */
public final class ApiServer implements AutoCloseable {

    public static final int MAX_BODY_BYTES = 64 * 1024;
    static final int HANDLER_THREADS = 4;
    static final int HANDLER_QUEUE = 64;
    static final int IDLE_TIMEOUT_SECONDS = 120;
    static final int CLOSE_WAIT_SECONDS = 10;

    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);

    private final EventLoopGroup group;
    private final ExecutorService handlers;
    private final ChannelGroup channels;
    private final Channel serverChannel;

    private ApiServer(EventLoopGroup group, ExecutorService handlers, ChannelGroup channels, Channel serverChannel) {
        this.group = group;
        this.handlers = handlers;
        this.channels = channels;
        this.serverChannel = serverChannel;
    }

    /**
     * Binds {@code listen} (port 0 picks a free port, see {@link #address()}) and starts serving.
     *
     * @param token  the bearer token (see {@link ApiToken#loadOrCreate})
     * @param routes the daemon's routes and metrics
     * @throws UncheckedIOException when the address cannot be bound (the message names it)
     */
    public static ApiServer start(InetSocketAddress listen, String token, Routes routes) {
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(routes, "routes");
        if (token == null || !ApiToken.isUsable(token)) {
            throw new IllegalArgumentException("the API token must be " + ApiToken.MIN_TOKEN_CHARS + " to "
                    + ApiToken.MAX_TOKEN_CHARS + " visible ASCII characters");
        }
        ThreadPoolExecutor handlers = new ThreadPoolExecutor(HANDLER_THREADS, HANDLER_THREADS, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(HANDLER_QUEUE), new DefaultThreadFactory("ferry-api-handler", true),
                new ThreadPoolExecutor.AbortPolicy());
        handlers.allowCoreThreadTimeOut(true);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("ferry-api-io", true),
                NioIoHandler.newFactory());
        ChannelGroup channels = new DefaultChannelGroup("api", GlobalEventExecutor.INSTANCE);
        ApiDispatcher dispatcher = new ApiDispatcher(token, routes, handlers);

        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        ch.pipeline()
                                .addLast("http", new HttpServerCodec())
                                .addLast("idle", new IdleStateHandler(0, 0, IDLE_TIMEOUT_SECONDS))
                                .addLast("aggregate", new BoundedAggregator(MAX_BODY_BYTES))
                                .addLast("api", new ApiConnectionHandler(dispatcher, MAX_BODY_BYTES));
                    }
                });
        var bound = bootstrap.bind(listen).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            channels.close().awaitUninterruptibly();
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly();
            handlers.shutdownNow();
            Throwable cause = bound.cause();
            String hint = cause instanceof BindException ? " (is another daemon using it? pick another api.listen)" : "";
            throw new UncheckedIOException(new IOException(
                    "cannot listen for the management API on " + listen + ": " + cause.getMessage() + hint, cause));
        }
        channels.add(bound.channel());
        ApiServer server = new ApiServer(group, handlers, channels, bound.channel());
        log.info("management API listening on http://{}",
                new HostPort(server.address().getAddress().getHostAddress(), server.address().getPort()));
        return server;
    }

    /** The bound address (with the actual port when 0 was asked). */
    public InetSocketAddress address() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /**
     * Stops listening, closes every connection, waits up to {@value #CLOSE_WAIT_SECONDS} s for
     * running handlers to finish (then interrupts them) and stops the threads.
     */
    @Override
    public void close() {
        channels.close().awaitUninterruptibly();
        handlers.shutdown();
        try {
            if (!handlers.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                log.warn("API handlers still running after {} s; interrupting them", CLOSE_WAIT_SECONDS);
                handlers.shutdownNow();
                handlers.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            handlers.shutdownNow();
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /**
     * {@link HttpObjectAggregator} that hands an over-limit request to the connection handler as
     * {@link ApiConnectionHandler.Oversized}, so its JSON 413 is answered in request order. The
     * aggregator discards the rest of that body itself; the connection is kept when the client
     * announced the length and asked for keep-alive, and closed when the body was already streaming.
     */
    private static final class BoundedAggregator extends HttpObjectAggregator {
        BoundedAggregator(int maxContentLength) {
            super(maxContentLength);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
            if (!(oversized instanceof HttpRequest)) {
                super.handleOversizedMessage(ctx, oversized);
                return;
            }
            boolean close = oversized instanceof FullHttpMessage
                    || !HttpUtil.is100ContinueExpected(oversized) && !HttpUtil.isKeepAlive(oversized);
            ctx.fireChannelRead(new ApiConnectionHandler.Oversized(close));
        }
    }
}
