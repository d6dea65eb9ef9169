package io.ferry.receiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiClientException;
import io.ferry.config.HostPort;
import io.ferry.config.TlsFiles;
import io.ferry.delta.DeltaEncoder;
import io.ferry.delta.DeltaFormat;
import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.tls.Certificates;
import io.ferry.tls.TlsContexts;
import io.ferry.wire.Ack;
import io.ferry.wire.ErrorCode;
import io.ferry.wire.ErrorMessage;
import io.ferry.wire.GroupAck;
import io.ferry.wire.GroupHello;
import io.ferry.wire.Heartbeat;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real receiver on loopback: TLS 1.3 with certificates from {@link Certificates}, a real group journal. */
class ReceiverNodeTest {

    private static final long VOLUME_BYTES = 1 << 20;
    private static final List<VolumeInfo> DB_VOLUMES =
            List.of(new VolumeInfo("db-data", VOLUME_BYTES), new VolumeInfo("db-log", VOLUME_BYTES));

    @TempDir
    static Path certs;

    private static EventLoopGroup clientLoop;
    private static TlsFiles hostA;
    private static TlsFiles hostZ;

    @TempDir
    Path dir;

    private final AtomicLong nowNanos = new AtomicLong(1_000_000_000_000L);
    private ReceiverNode node;

    @BeforeAll
    static void issueCertificates() {
        Path ca = certs.resolve("ca");
        Certificates.createCa(ca);
        Certificates.issue(ca, "dr-1", certs.resolve("issued"));
        Certificates.issue(ca, "host-a", certs.resolve("issued"));
        Certificates.issue(ca, "host-z", certs.resolve("issued"));
        Certificates.createCa(certs.resolve("other-ca"));
        Certificates.issue(certs.resolve("other-ca"), "host-a", certs.resolve("rogue"));
        hostA = files("issued", "host-a");
        hostZ = files("issued", "host-z");
        clientLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopClientLoop() {
        clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static TlsFiles files(String certDir, String name) {
        return new TlsFiles(certs.resolve("ca/ca.pem"), certs.resolve(certDir).resolve(name + ".pem"),
                certs.resolve(certDir).resolve(name + ".key"));
    }

    @BeforeEach
    void launch() throws IOException {
        String yaml = String.join("\n",
                "id: dr-1",
                "dataDir: " + dir.resolve("data"),
                "listen: 127.0.0.1:0",
                "nbd: { listen: 127.0.0.1:0 }",
                "api: { listen: 127.0.0.1:0 }",
                "tls: { ca: " + certs.resolve("ca/ca.pem") + ", cert: " + certs.resolve("issued/dr-1.pem")
                        + ", key: " + certs.resolve("issued/dr-1.key") + " }",
                "agents:",
                "  - id: host-a",
                "    groups: [db]",
                "  - id: host-b",
                "    groups: [mail]",
                "");
        Path file = Files.writeString(dir.resolve("receiver.yaml"), yaml);
        node = ReceiverNode.launch(ReceiverConfig.load(file), nowNanos::get);
    }

    @AfterEach
    void close() {
        if (node != null) {
            node.close();
        }
    }

    private TestAgentConnection connect(SslContext client) throws InterruptedException {
        return TestAgentConnection.connect(clientLoop, client, node.replicationAddress());
    }

    private ApiClient api(String token) {
        InetSocketAddress address = node.apiAddress();
        return new ApiClient(new HostPort(address.getHostString(), address.getPort()), token, Duration.ofSeconds(10));
    }

    private static ByteBuf delta(long firstSeq, long lastSeq, int volumeIndex, long offset, byte fill, long captureNanos) {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("db", 1);
        for (long seq = firstSeq; seq <= lastSeq; seq++) {
            byte[] data = new byte[4096];
            Arrays.fill(data, fill);
            encoder.add(volumeIndex, DeltaFormat.WRITE, offset, data.length, seq, captureNanos, ByteBuffer.wrap(data));
        }
        return encoder.encode(io.netty.buffer.ByteBufAllocator.DEFAULT);
    }

    @Test
    void shouldAdmitAnAgentWithTheRightCertificateAndAckWhatItMadeDurable() throws Exception {
        try (TestAgentConnection agent = connect(TlsContexts.client(hostA))) {
            HelloAck helloAck = agent.hello(new Hello("host-a", 1, 1, List.of(new GroupHello("db", 5, DB_VOLUMES))));
            assertThat(helloAck.groups()).containsExactly(
                    new GroupAck("db", 0, node.group("db").generationId(), GroupAck.STATUS_SYNC_EMPTY,
                            io.ferry.generation.GenerationHistory.of(5)));
            assertThat(node.link("db").connected()).isTrue();

            agent.send(delta(1, 3, 1, 8192, (byte) 0x5a, nowNanos.get()));
            assertThat(agent.next()).isEqualTo(new Ack("db", 3));
            agent.send(new Heartbeat(77));
            assertThat(agent.next()).isEqualTo(new Heartbeat(77));

            assertThat(node.group("db").awaitApplied(3, Duration.ofSeconds(10))).isTrue();
            try (FileChannel replica = FileChannel.open(node.group("db").replicaPath("db-log"))) {
                ByteBuffer read = ByteBuffer.allocate(4096);
                replica.read(read, 8192);
                byte[] expected = new byte[4096];
                Arrays.fill(expected, (byte) 0x5a);
                assertThat(read.array()).isEqualTo(expected);
            }
        }
    }

    @Test
    void shouldRefuseACertificateFromAnotherCaAtTheTlsLayerAndKeepServing() throws Exception {
        SslContext rogue = SslContextBuilder.forClient()
                .protocols("TLSv1.3")
                .keyManager(Certificates.readPrivateKey(certs.resolve("rogue/host-a.key")),
                        Certificates.readCertificate(certs.resolve("rogue/host-a.pem")))
                .trustManager(Certificates.readCertificate(certs.resolve("ca/ca.pem")))
                .endpointIdentificationAlgorithm(null)
                .build();
        try (TestAgentConnection intruder = connect(rogue)) {
            intruder.send(new Hello("host-a", 1, 1, List.of(new GroupHello("db", 5, DB_VOLUMES))));
            assertThat(intruder.awaitClosed()).isTrue();
            assertThat(intruder.nextNow()).as("not a single frame for a peer refused by TLS").isNull();
        }
        assertThat(node.group("db").volumes()).as("the replica was not touched").isEmpty();

        try (TestAgentConnection agent = connect(TlsContexts.client(hostA))) {
            agent.hello(new Hello("host-a", 1, 1, List.of(new GroupHello("db", 5, DB_VOLUMES))));
        }
    }

    @Test
    void shouldRefuseAValidCertificateWhoseCnIsNotInReceiverYaml() throws Exception {
        try (TestAgentConnection stranger = connect(TlsContexts.client(hostZ))) {
            stranger.send(new Hello("host-z", 1, 1, List.of(new GroupHello("db", 5, DB_VOLUMES))));
            ErrorMessage error = (ErrorMessage) stranger.next();
            assertThat(error.code()).isEqualTo(ErrorCode.UNKNOWN_AGENT);
            assertThat(error.text()).contains("host-z");
            assertThat(stranger.awaitClosed()).isTrue();
        }
        assertThat(node.group("db").volumes()).isEmpty();
    }

    @Test
    void shouldRefuseAnAgentClaimingAnotherAgentsId() throws Exception {
        try (TestAgentConnection impostor = connect(TlsContexts.client(hostZ))) {
            impostor.send(new Hello("host-a", 1, 1, List.of(new GroupHello("db", 5, DB_VOLUMES))));
            ErrorMessage error = (ErrorMessage) impostor.next();
            assertThat(error.code()).isEqualTo(ErrorCode.UNKNOWN_AGENT);
            assertThat(impostor.awaitClosed()).isTrue();
        }
    }

    @Test
    void shouldRequireTheTokenForStatus() {
        ApiClientException e = catchThrowableOfType(ApiClientException.class,
                () -> api("not-the-token-0123456789").get("/v1/status"));
        assertThat(e.status()).isEqualTo(401);
    }

    @Test
    void shouldReportEveryGroupInStatusAndMetrics() throws Exception {
        String token = ApiClient.readTokenFile(node.apiTokenFile());
        JsonNode before = api(token).get("/v1/status");
        assertThat(before.path("id").asText()).isEqualTo("dr-1");
        assertThat(before.path("groups")).hasSize(2);
        JsonNode idle = before.path("groups").get(0);
        assertThat(idle.path("name").asText()).isEqualTo("db");
        assertThat(idle.path("agent").asText()).isEqualTo("host-a");
        assertThat(idle.path("state").asText()).isEqualTo("syncing");
        assertThat(idle.path("connected").asBoolean()).isFalse();

        try (TestAgentConnection agent = connect(TlsContexts.client(hostA))) {
            agent.hello(new Hello("host-a", 1, 1, List.of(new GroupHello("db", 5, DB_VOLUMES))));
            agent.send(delta(1, 2, 0, 0, (byte) 1, nowNanos.get()));
            assertThat(agent.next()).isEqualTo(new Ack("db", 2));
            assertThat(node.group("db").awaitApplied(2, Duration.ofSeconds(10))).isTrue();

            JsonNode db = api(token).get("/v1/status").path("groups").get(0);
            for (String field : List.of("name", "agent", "state", "receivedSeq", "appliedSeq", "durableSeq",
                    "lagSeconds", "connected", "volumes")) {
                assertThat(db.has(field)).as("status field %s", field).isTrue();
            }
            assertThat(db.path("state").asText()).isEqualTo("replicating");
            assertThat(db.path("receivedSeq").asLong()).isEqualTo(2);
            assertThat(db.path("durableSeq").asLong()).isEqualTo(2);
            assertThat(db.path("appliedSeq").asLong()).isEqualTo(2);
            assertThat(db.path("lagSeconds").asDouble()).isZero();
            assertThat(db.path("connected").asBoolean()).isTrue();
            assertThat(db.path("volumes")).hasSize(2);
            assertThat(db.path("volumes").get(0).path("name").asText()).isEqualTo("db-data");
            assertThat(db.path("volumes").get(0).path("sizeBytes").asLong()).isEqualTo(VOLUME_BYTES);
            assertThat(db.path("volumes").get(0).path("replica").asText())
                    .isEqualTo(node.group("db").replicaPath("db-data").toString());

            String metrics = api(token).getText("/metrics");
            assertThat(metrics)
                    .contains("ferry_receiver_received_seq{group=\"db\",agent=\"host-a\"} 2")
                    .contains("ferry_receiver_applied_seq{group=\"db\",agent=\"host-a\"} 2")
                    .contains("ferry_receiver_connected{group=\"db\",agent=\"host-a\"} 1")
                    .contains("ferry_receiver_lag_seconds{group=\"db\",agent=\"host-a\"} 0")
                    .contains("# TYPE ferry_receiver_received_bytes_total counter");
        }
    }

    @Test
    void shouldBindEveryListenerAndExposeTheAddresses() {
        assertThat(node.replicationAddress().getPort()).isPositive();
        assertThat(node.apiAddress().getPort()).isPositive();
        assertThat(node.nbdAddress().getPort()).isPositive();
        assertThat(node.groups()).containsExactly("db", "mail");
        assertThat(node.group("nope")).isNull();
        assertThat(Files.exists(node.apiTokenFile())).isTrue();
    }
}
