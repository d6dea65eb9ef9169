package io.ferry.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ferry.config.TlsFiles;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Real TLS 1.3 handshakes between Netty channels on 127.0.0.1, with every provider pairing. */
class TlsContextsTest {

    private static final long TIMEOUT_SECONDS = 10;

    @TempDir
    static Path dir;

    private static EventLoopGroup group;
    private static TlsFiles receiver;
    private static TlsFiles agent;
    private static TlsFiles rogue;

    @BeforeAll
    static void issueCertificatesAndStartLoop() {
        Certificates.createCa(dir.resolve("ca"));
        Certificates.issue(dir.resolve("ca"), "dr-1", dir.resolve("certs"));
        Certificates.issue(dir.resolve("ca"), "host-a", dir.resolve("certs"));
        Certificates.createCa(dir.resolve("other-ca"));
        Certificates.issue(dir.resolve("other-ca"), "host-a", dir.resolve("rogue"));
        receiver = files("ca", "certs", "dr-1");
        agent = files("ca", "certs", "host-a");
        rogue = files("other-ca", "rogue", "host-a");
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopLoop() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    static Stream<Arguments> providerPairs() {
        List<Arguments> pairs = new ArrayList<>();
        for (TlsProvider server : TlsProvider.values()) {
            for (TlsProvider client : TlsProvider.values()) {
                pairs.add(Arguments.of(server, client));
            }
        }
        return pairs.stream();
    }

    @Test
    void shouldLoadBoringSslOnLinuxX8664() {
        assumeTrue(System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")
                && System.getProperty("os.arch").equals("amd64"), "netty-tcnative's classifier jar is linux-x86_64");
        assertThat(OpenSsl.isAvailable()).as("OpenSsl.unavailabilityCause: %s", OpenSsl.unavailabilityCause()).isTrue();
        assertThat(TlsProvider.OPENSSL.isAvailable()).isTrue();
    }

    @ParameterizedTest(name = "server {0}, client {1}")
    @MethodSource("providerPairs")
    void shouldCompleteMutualTls13HandshakeAndExposeTheAgentCn(TlsProvider serverProvider, TlsProvider clientProvider)
            throws Exception {
        assumeProviders(serverProvider, clientProvider);
        try (Connection connection = connect(TlsContexts.server(receiver, serverProvider),
                TlsContexts.client(agent, clientProvider))) {
            Outcome server = connection.server.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            Outcome client = connection.client.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

            assertThat(server.failure).isNull();
            assertThat(client.failure).isNull();
            assertThat(server.protocol).isEqualTo("TLSv1.3");
            assertThat(client.protocol).isEqualTo("TLSv1.3");
            assertThat(server.peerCommonName).isEqualTo("host-a");
            assertThat(client.peerCommonName).isEqualTo("dr-1");
        }
    }

    @ParameterizedTest(name = "server {0}, client {1}")
    @MethodSource("providerPairs")
    void shouldRefuseAClientCertificateFromAnotherCa(TlsProvider serverProvider, TlsProvider clientProvider)
            throws Exception {
        assumeProviders(serverProvider, clientProvider);
        // trusts the right CA (so the client gets as far as sending its certificate) but presents a rogue one
        SslContext rogueClient = SslContextBuilder.forClient()
                .sslProvider(clientProvider.nettyProvider())
                .protocols("TLSv1.3")
                .keyManager(Certificates.readPrivateKey(rogue.key()), Certificates.readCertificate(rogue.cert()))
                .trustManager(Certificates.readCertificate(agent.ca()))
                .endpointIdentificationAlgorithm(null)
                .build();
        assertServerRefuses(TlsContexts.server(receiver, serverProvider), rogueClient);
    }

    @ParameterizedTest(name = "server {0}, client {1}")
    @MethodSource("providerPairs")
    void shouldRefuseAClientWithoutCertificate(TlsProvider serverProvider, TlsProvider clientProvider)
            throws Exception {
        assumeProviders(serverProvider, clientProvider);
        SslContext anonymousClient = SslContextBuilder.forClient()
                .sslProvider(clientProvider.nettyProvider())
                .protocols("TLSv1.3")
                .trustManager(Certificates.readCertificate(agent.ca()))
                .endpointIdentificationAlgorithm(null)
                .build();
        assertServerRefuses(TlsContexts.server(receiver, serverProvider), anonymousClient);
    }

    @ParameterizedTest(name = "server {0}, client {1}")
    @MethodSource("providerPairs")
    void shouldRefuseAServerCertificateFromAnotherCa(TlsProvider serverProvider, TlsProvider clientProvider)
            throws Exception {
        assumeProviders(serverProvider, clientProvider);
        try (Connection connection = connect(TlsContexts.server(rogue, serverProvider),
                TlsContexts.client(agent, clientProvider))) {
            Outcome client = connection.client.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            Outcome server = connection.server.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

            assertThat(client.failure).isInstanceOf(SSLException.class);
            assertThat(server.failure).isNotNull();
        }
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void shouldNameTheKeyFileThatIsNotAKey(TlsProvider provider) throws IOException {
        Path badKey = Files.writeString(dir.resolve("bad-" + provider + ".key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                + "-----END PRIVATE KEY-----\n");
        TlsFiles files = new TlsFiles(agent.ca(), agent.cert(), badKey);
        assertThatThrownBy(() -> TlsContexts.client(files, provider))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(badKey.toString());
    }

    @Test
    void shouldNameTheMissingCertificateFile() {
        Path missing = dir.resolve("certs/nobody.pem");
        assertThatThrownBy(() -> TlsContexts.server(new TlsFiles(receiver.ca(), missing, receiver.key()),
                TlsProvider.JDK))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("does not exist");
    }

    @Test
    void shouldNameTheKeyThatBelongsToAnotherCertificate() {
        TlsFiles mixed = new TlsFiles(agent.ca(), agent.cert(), receiver.key());
        assertThatThrownBy(() -> TlsContexts.client(mixed, TlsProvider.JDK))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(receiver.key().toString())
                .hasMessageContaining(agent.cert().toString());
    }

    @Test
    void shouldRefuseOwnCertificateNotIssuedByTheConfiguredCa() {
        TlsFiles wrongCa = new TlsFiles(agent.ca(), rogue.cert(), rogue.key());
        assertThatThrownBy(() -> TlsContexts.client(wrongCa, TlsProvider.JDK))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(rogue.cert().toString())
                .hasMessageContaining("is not issued by the CA");
    }

    @Test
    void shouldRefuseALeafConfiguredAsTheCa() {
        TlsFiles leafAsCa = new TlsFiles(agent.cert(), agent.cert(), agent.key());
        assertThatThrownBy(() -> TlsContexts.client(leafAsCa, TlsProvider.JDK))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining("is not a CA certificate");
    }

    @Test
    void shouldLetTheSystemPropertyForceTheProvider() {
        String previous = System.getProperty(TlsProvider.PROPERTY);
        try {
            System.setProperty(TlsProvider.PROPERTY, "jdk");
            assertThat(TlsContexts.providerName()).isEqualTo("jdk");
            System.setProperty(TlsProvider.PROPERTY, "bogus");
            assertThatThrownBy(TlsContexts::providerName)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("bogus")
                    .hasMessageContaining(TlsProvider.PROPERTY);
            System.clearProperty(TlsProvider.PROPERTY);
            assertThat(TlsContexts.providerName()).isEqualTo(OpenSsl.isAvailable() ? "openssl" : "jdk");
        } finally {
            if (previous == null) {
                System.clearProperty(TlsProvider.PROPERTY);
            } else {
                System.setProperty(TlsProvider.PROPERTY, previous);
            }
        }
    }

    private static void assertServerRefuses(SslContext serverContext, SslContext clientContext) throws Exception {
        try (Connection connection = connect(serverContext, clientContext)) {
            Outcome server = connection.server.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(server.failure).isInstanceOf(SSLException.class);
            assertThat(server.peerCommonName).isNull();
            // in TLS 1.3 the client may finish its side before the server's verdict; either way it is cut off
            assertThat(connection.clientChannel.closeFuture().await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
        }
    }

    private static void assumeProviders(TlsProvider... providers) {
        for (TlsProvider provider : providers) {
            assumeTrue(provider.isAvailable(), () -> provider + " unavailable: " + OpenSsl.unavailabilityCause());
        }
    }

    private static TlsFiles files(String caDir, String certDir, String name) {
        return new TlsFiles(dir.resolve(caDir).resolve("ca.pem"), dir.resolve(certDir).resolve(name + ".pem"),
                dir.resolve(certDir).resolve(name + ".key"));
    }

    private static Connection connect(SslContext serverContext, SslContext clientContext) throws InterruptedException {
        CompletableFuture<Outcome> serverOutcome = new CompletableFuture<>();
        Channel serverChannel = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler ssl = serverContext.newHandler(ch.alloc());
                        ch.pipeline().addLast(ssl, new CloseOnError());
                        Outcome.reportTo(ssl, serverOutcome);
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        int port = ((InetSocketAddress) serverChannel.localAddress()).getPort();

        CompletableFuture<Outcome> clientOutcome = new CompletableFuture<>();
        Channel clientChannel = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler ssl = clientContext.newHandler(ch.alloc(), "127.0.0.1", port);
                        ch.pipeline().addLast(ssl, new CloseOnError());
                        Outcome.reportTo(ssl, clientOutcome);
                    }
                })
                .connect("127.0.0.1", port).sync().channel();
        return new Connection(serverChannel, clientChannel, serverOutcome, clientOutcome);
    }

    /** How one side's handshake ended. */
    private record Outcome(String protocol, String peerCommonName, Throwable failure) {

        static void reportTo(SslHandler ssl, CompletableFuture<Outcome> outcome) {
            ssl.handshakeFuture().addListener(future -> {
                if (!future.isSuccess()) {
                    outcome.complete(new Outcome(null, null, future.cause()));
                    return;
                }
                SSLSession session = ssl.engine().getSession();
                try {
                    outcome.complete(new Outcome(session.getProtocol(), TlsContexts.peerCommonName(session), null));
                } catch (SSLException e) {
                    outcome.complete(new Outcome(session.getProtocol(), null, e));
                }
            });
        }
    }

    /** Closes the channel on any error so that nothing reaches the pipeline's tail (a warning per test). */
    private static final class CloseOnError extends ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private record Connection(Channel serverChannel, Channel clientChannel, CompletableFuture<Outcome> server,
                              CompletableFuture<Outcome> client) implements AutoCloseable {
        @Override
        public void close() {
            clientChannel.close().syncUninterruptibly();
            serverChannel.close().syncUninterruptibly();
        }
    }
}
