package io.ferry.receiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiClientException;
import io.ferry.config.HostPort;
import io.ferry.config.TlsFiles;
import io.ferry.delta.DeltaEncoder;
import io.ferry.delta.DeltaFormat;
import io.ferry.nbd.BlockDevice;
import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.tls.Certificates;
import io.ferry.tls.TlsContexts;
import io.ferry.wire.Ack;
import io.ferry.wire.ErrorCode;
import io.ferry.wire.ErrorMessage;
import io.ferry.wire.GroupAck;
import io.ferry.wire.GroupHello;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Promote to latest on a real receiver: fencing of sessions, refusals, and a promoted group across a restart. */
class ReceiverPromoteTest {

    private static final long VOLUME_BYTES = 1 << 20;
    private static final List<VolumeInfo> DB_VOLUMES =
            List.of(new VolumeInfo("db-data", VOLUME_BYTES), new VolumeInfo("db-log", VOLUME_BYTES));

    @TempDir
    static Path certs;

    private static EventLoopGroup clientLoop;
    private static TlsFiles hostA;

    @TempDir
    Path dir;

    private final AtomicLong nowNanos = new AtomicLong(1_000_000_000_000L);
    private Path config;
    private ReceiverNode node;

    @BeforeAll
    static void issueCertificates() {
        hostA = ReceiverFixture.issueCertificates(certs);
        clientLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopClientLoop() {
        clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @BeforeEach
    void launch() throws IOException {
        String yaml = ReceiverFixture.receiverYaml(dir.resolve("data"), certs);
        config = Files.writeString(dir.resolve("receiver.yaml"), yaml);
        node = ReceiverNode.launch(ReceiverConfig.load(config), nowNanos::get);
    }

    @AfterEach
    void close() {
        if (node != null) {
            node.close();
        }
    }

    private TestAgentConnection connect() throws InterruptedException {
        SslContext client = TlsContexts.client(hostA);
        return TestAgentConnection.connect(clientLoop, client, node.replicationAddress());
    }

    private ApiClient api() {
        InetSocketAddress address = node.apiAddress();
        return new ApiClient(new HostPort(address.getHostString(), address.getPort()),
                ApiClient.readTokenFile(node.apiTokenFile()), Duration.ofSeconds(30));
    }

    private static ByteBuf delta(long firstSeq, long lastSeq, byte fill) {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("db", 1);
        for (long seq = firstSeq; seq <= lastSeq; seq++) {
            byte[] data = new byte[4096];
            Arrays.fill(data, fill);
            encoder.add(0, DeltaFormat.WRITE, (seq - 1) * 4096, data.length, seq, 1, ByteBuffer.wrap(data));
        }
        return encoder.encode(ByteBufAllocator.DEFAULT);
    }

    private TestAgentConnection replicateThreeWrites() throws InterruptedException {
        TestAgentConnection agent = connect();
        agent.hello(new Hello("host-a", 1, 1, List.of(new GroupHello("db", 5, DB_VOLUMES))));
        agent.send(delta(1, 3, (byte) 0x5a));
        assertThat(agent.next()).isEqualTo(new Ack("db", 3));
        return agent;
    }

    @Test
    void shouldCloseTheLiveSessionWithGroupPromotedAndExportTheAppliedReplica() throws Exception {
        long generationBefore = node.group("db").generationId();
        try (TestAgentConnection agent = replicateThreeWrites()) {
            JsonNode reply = api().post("/v1/groups/db/promote", Map.of("point", "latest"));

            ErrorMessage error = (ErrorMessage) agent.next();
            assertThat(error.code()).isEqualTo(ErrorCode.GROUP_PROMOTED);
            assertThat(error.text()).isEqualTo("group db was promoted at the DR site");
            assertThat(agent.awaitClosed()).isTrue();

            assertThat(reply.get("state").asText()).isEqualTo("promoted");
            assertThat(reply.get("seq").asLong()).isEqualTo(3);
            assertThat(reply.get("generationId").asLong()).isNotEqualTo(generationBefore)
                    .isEqualTo(node.group("db").generationId());
            assertThat(reply.get("exports").get(0).get("uri").asText())
                    .isEqualTo("nbd://127.0.0.1:" + node.nbdAddress().getPort() + "/db-data");
        }
        assertThat(node.link("db").connected()).isFalse();
        assertThat(api().get("/v1/groups/db").get("state").asText()).isEqualTo("promoted");
        BlockDevice exported = node.exports().find("db-data");
        assertThat(exported).isNotNull();
        assertThat(node.exports().names()).containsExactlyInAnyOrder("db-data", "db-log");
    }

    @Test
    void shouldRefuseDrillsThatCannotBeAndDiscardAStoppedDrillsScratch() throws Exception {
        assertThat(apiError(() -> api().post("/v1/groups/db/drill", Map.of("point", "latest"))).code()).isEqualTo("no_volumes");
        assertThat(apiError(() -> api().delete("/v1/groups/db/drill")).code()).isEqualTo("no_drill");

        replicateThreeWrites().close();
        ApiClientException unknown = apiError(() -> api().post("/v1/groups/db/drill", Map.of("point", "p999")));
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.code()).isEqualTo("unknown_point");
        assertThat(apiError(() -> api().post("/v1/groups/db/drill", Map.of("point", 7))).status()).isEqualTo(400);

        // a drill at latest shows what the replica has applied when it starts (it never waits for a backlog)
        await().atMost(Duration.ofSeconds(30)).until(() -> node.group("db").appliedSeq() == 3);
        JsonNode drill = api().post("/v1/groups/db/drill", Map.of("point", "latest"));
        assertThat(drill.get("state").asText()).isEqualTo("drill");
        assertThat(drill.get("seq").asLong()).isEqualTo(3);
        assertThat(node.exports().names()).containsExactlyInAnyOrder("db-data-drill", "db-log-drill");
        JsonNode status = api().get("/v1/groups/db");
        assertThat(status.get("state").asText()).isEqualTo("drill");
        assertThat(status.get("drillSeq").asLong()).isEqualTo(3);
        assertThat(apiError(() -> api().post("/v1/groups/db/drill", Map.of("point", "latest"))).code()).isEqualTo("drill_running");
        assertThat(entries(dir.resolve("data/drills/db"))).isEqualTo(2);

        JsonNode stopped = api().delete("/v1/groups/db/drill");
        assertThat(stopped.get("state").asText()).isEqualTo("replicating");
        assertThat(node.exports().names()).isEmpty();
        assertThat(entries(dir.resolve("data/drills/db"))).isZero();
        assertThat(api().get("/v1/groups/db").get("state").asText()).isEqualTo("replicating");

        api().post("/v1/groups/db/drill", Map.of("point", "latest"));
        api().post("/v1/groups/db/promote", Map.of("point", "latest"));
        assertThat(node.exports().names()).as("the promote stopped the drill").containsExactlyInAnyOrder("db-data",
                "db-log");
        ApiClientException promoted = apiError(() -> api().post("/v1/groups/db/drill", Map.of("point", "latest")));
        assertThat(promoted.status()).isEqualTo(409);
        assertThat(promoted.code()).isEqualTo("promoted");
    }

    private static long entries(Path directory) throws IOException {
        try (java.util.stream.Stream<Path> files = Files.list(directory)) {
            return files.count();
        }
    }

    private static ApiClientException apiError(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        return catchThrowableOfType(ApiClientException.class, call);
    }

    @Test
    void shouldAnswerALaterHelloWithStatusPromotedAndADeltaWithGroupPromoted() throws Exception {
        replicateThreeWrites().close();
        api().post("/v1/groups/db/promote", Map.of("point", "latest"));

        try (TestAgentConnection agent = connect()) {
            HelloAck helloAck = agent.hello(new Hello("host-a", 1, 1, List.of(new GroupHello("db", 5, DB_VOLUMES))));
            assertThat(helloAck.groups()).containsExactly(
                    new GroupAck("db", 3, node.group("db").generationId(), GroupAck.STATUS_PROMOTED,
                            io.ferry.generation.GenerationHistory.of(5).begin(node.group("db").generationId(), 3)));

            agent.send(delta(4, 4, (byte) 0x11));
            ErrorMessage error = (ErrorMessage) agent.next();
            assertThat(error.code()).isEqualTo(ErrorCode.GROUP_PROMOTED);
            assertThat(error.text()).contains("group db was promoted at the DR site");
            assertThat(agent.awaitClosed()).isTrue();
        }
        assertThat(node.group("db").receivedSeq()).isEqualTo(3);
        assertThat(node.group("db").appliedSeq()).isEqualTo(3);
    }

    @Test
    void shouldRefuseASecondPromoteAnotherPointAndAGroupNeverReplicated() throws Exception {
        ApiClientException neverReplicated = catchThrowableOfType(ApiClientException.class,
                () -> api().post("/v1/groups/db/promote", Map.of("point", "latest")));
        assertThat(neverReplicated.status()).isEqualTo(409);
        assertThat(neverReplicated.code()).isEqualTo("no_volumes");
        assertThat(node.link("db").promoted()).as("a refused promote leaves the group replicating").isFalse();

        replicateThreeWrites().close();
        ApiClientException point = catchThrowableOfType(ApiClientException.class,
                () -> api().post("/v1/groups/db/promote", Map.of("point", "p-17")));
        assertThat(point.status()).isEqualTo(404);
        assertThat(point.code()).isEqualTo("unknown_point");
        assertThat(point.getMessage()).contains("/v1/groups/db/points");
        assertThat(node.link("db").promoted()).isFalse();

        api().post("/v1/groups/db/promote", Map.of("point", "latest"));
        ApiClientException second = catchThrowableOfType(ApiClientException.class,
                () -> api().post("/v1/groups/db/promote", Map.of("point", "latest")));
        assertThat(second.status()).isEqualTo(409);
        assertThat(second.code()).isEqualTo("already_promoted");
        assertThat(second.getMessage()).contains("group db was already promoted");

        ApiClientException unknown = catchThrowableOfType(ApiClientException.class,
                () -> api().post("/v1/groups/mail/promote", Map.of("point", "latest")));
        assertThat(unknown.status()).isEqualTo(404);
    }

    @Test
    void shouldComeBackPromotedAndExportedAfterARestart() throws Exception {
        replicateThreeWrites().close();
        long generation = api().post("/v1/groups/db/promote", Map.of("point", "latest")).get("generationId").asLong();
        node.close();
        node = null;

        node = ReceiverNode.launch(ReceiverConfig.load(config), nowNanos::get);

        assertThat(node.group("db").isPromoted()).isTrue();
        assertThat(node.group("db").generationId()).isEqualTo(generation);
        assertThat(node.link("db").promoted()).isTrue();
        assertThat(node.exports().names()).containsExactlyInAnyOrder("db-data", "db-log");
        assertThat(api().get("/v1/groups/db").get("state").asText()).isEqualTo("promoted");
        try (TestAgentConnection agent = connect()) {
            assertThat(agent.hello(new Hello("host-a", 1, 1, List.of(new GroupHello("db", 5, DB_VOLUMES)))).groups()).containsExactly(
                    new GroupAck("db", 3, generation, GroupAck.STATUS_PROMOTED,
                            io.ferry.generation.GenerationHistory.of(5).begin(generation, 3)));
        }
        byte[] block = new byte[4096];
        try (var channel = java.nio.channels.FileChannel.open(node.group("db").replicaPath("db-data"))) {
            channel.read(ByteBuffer.wrap(block), 2 * 4096);
        }
        byte[] expected = new byte[4096];
        Arrays.fill(expected, (byte) 0x5a);
        assertThat(block).as("the third write is in the promoted replica").isEqualTo(expected);
    }
}
