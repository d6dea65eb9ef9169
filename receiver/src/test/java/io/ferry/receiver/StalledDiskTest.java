package io.ferry.receiver;

import io.ferry.daemon.StateFiles;
import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.config.TlsFiles;
import io.ferry.delta.DeltaEncoder;
import io.ferry.delta.DeltaFormat;
import io.ferry.receiver.config.AllowedAgent;
import io.ferry.receiver.session.GroupLink;
import io.ferry.receiver.session.ReplicationServer;
import io.ferry.receiver.session.SessionSettings;
import io.ferry.replica.store.GroupReplica;
import io.ferry.replica.store.RecoveryPoints;
import io.ferry.daemon.StateFiles;
import io.ferry.tls.Certificates;
import io.ferry.tls.TlsContexts;
import io.ferry.wire.Ack;
import io.ferry.wire.Bookmark;
import io.ferry.wire.GroupHello;
import io.ferry.wire.Heartbeat;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One agent replicates two groups over one connection (so one event loop serves both); the
 * state disk of group "db" stalls (a fault-injecting {@link StateFiles} that blocks until the
 * test lets it go) or fails. Neither may hold up the loop: "web" and even "db" keep getting
 * their ACKs, heartbeats are answered, and "web" keeps applying.
 */
class StalledDiskTest {
    private static final long VOLUME_BYTES = 1 << 20;
    private static final List<VolumeInfo> DB = List.of(new VolumeInfo("db-data", VOLUME_BYTES));
    private static final List<VolumeInfo> WEB = List.of(new VolumeInfo("web-data", VOLUME_BYTES));
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    static Path certs;
    private static EventLoopGroup clientLoop;
    private static TlsFiles hostA;
    private static TlsFiles receiver;

    @TempDir
    Path dir;

    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void issueCertificates() {
        Path ca = certs.resolve("ca");
        Certificates.createCa(ca);
        Certificates.issue(ca, "dr-1", certs.resolve("issued"));
        Certificates.issue(ca, "host-a", certs.resolve("issued"));
        hostA = files("host-a");
        receiver = files("dr-1");
        clientLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    private static TlsFiles files(String name) {
        return new TlsFiles(certs.resolve("ca/ca.pem"), certs.resolve("issued").resolve(name + ".pem"),
                certs.resolve("issued").resolve(name + ".key"));
    }

    @AfterAll
    static void stopClientLoop() {
        clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** Blocks every write of the file named {@code name} once armed, until released; or fails it. */
    private static final class FaultyStateFiles implements StateFiles {
        private final String name;
        private final boolean fail;
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile boolean armed;

        FaultyStateFiles(String name, boolean fail) {
            this.name = name;
            this.fail = fail;
        }

        @Override
        public void writeAtomically(Path file, byte[] bytes) throws IOException {
            if (armed && file.getFileName().toString().equals(name)) {
                entered.countDown();
                if (fail) {
                    throw new IOException("Input/output error (injected)");
                }
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while stalled", e);
                }
            }
            StateFiles.DURABLE.writeAtomically(file, bytes);
        }

        @Override
        public void forceDirectory(Path dirToForce) throws IOException {
            StateFiles.DURABLE.forceDirectory(dirToForce);
        }
    }

    private InetSocketAddress serve(GroupReplica db, GroupReplica web) {
        Map<String, GroupLink> links = new LinkedHashMap<>();
        links.put("db", new GroupLink("db", "host-a", db));
        links.put("web", new GroupLink("web", "host-a", web));
        ReplicationServer server = ReplicationServer.start(new InetSocketAddress("127.0.0.1", 0),
                TlsContexts.server(receiver), "dr-1", List.of(new AllowedAgent("host-a", List.of("db", "web"))), links,
                SessionSettings.defaults());
        open.add(server);
        return server.address();
    }

    private GroupReplica open(String group, StateFiles files) throws IOException {
        GroupReplica replica = GroupReplica.open(dir, group, () -> 1_000_000_000L,
                GroupReplica.Options.defaults().withStateFiles(files),
                new RecoveryPoints.Policy(Duration.ofHours(1), Duration.ofHours(2)));
        open.add(replica);
        return replica;
    }

    private TestAgentConnection connect(InetSocketAddress address, GroupReplica db, GroupReplica web)
            throws InterruptedException {
        TestAgentConnection agent = TestAgentConnection.connect(clientLoop, TlsContexts.client(hostA), address);
        open.add(agent);
        agent.hello(new Hello("host-a", 1, 1, List.of(new GroupHello("db", db.generationId(), DB),
                new GroupHello("web", web.generationId(), WEB))));
        return agent;
    }

    private static ByteBuf delta(String group, long firstSeq, long lastSeq, byte fill) {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin(group, 1);
        for (long seq = firstSeq; seq <= lastSeq; seq++) {
            byte[] data = new byte[4096];
            Arrays.fill(data, fill);
            encoder.add(0, DeltaFormat.WRITE, (seq - 1) * 4096, data.length, seq, 1_000_000_000L,
                    ByteBuffer.wrap(data));
        }
        return encoder.encode(ByteBufAllocator.DEFAULT);
    }

    @Test
    void shouldKeepAckingBothGroupsWhileOneGroupsStateDiskStallsUnderABookmark() throws Exception {
        FaultyStateFiles stalled = new FaultyStateFiles("points.json", false);
        GroupReplica db = open("db", stalled);
        GroupReplica web = open("web", StateFiles.DURABLE);
        TestAgentConnection agent = connect(serve(db, web), db, web);
        agent.send(delta("db", 1, 2, (byte) 1));
        assertThat(agent.next()).isEqualTo(new Ack("db", 2));
        assertThat(db.awaitApplied(2, WAIT)).isTrue();

        stalled.armed = true;
        agent.send(new Bookmark("db", 2, "before-upgrade"));
        assertThat(stalled.entered.await(WAIT.toSeconds(), TimeUnit.SECONDS))
                .as("db's applier is persisting the bookmark, stuck on its disk").isTrue();
        try {
            agent.send(delta("web", 1, 3, (byte) 2));
            assertThat(agent.next()).as("web is acknowledged while db's disk stalls").isEqualTo(new Ack("web", 3));
            agent.send(delta("db", 3, 4, (byte) 3));
            assertThat(agent.next()).as("db's journal is not the stalled disk: its deltas are acknowledged too")
                    .isEqualTo(new Ack("db", 4));
            agent.send(new Heartbeat(7));
            assertThat(agent.next()).as("the event loop answers").isEqualTo(new Heartbeat(7));
            assertThat(web.awaitApplied(3, WAIT)).as("web keeps applying").isTrue();
            assertThat(db.appliedSeq()).as("db's applier waits on its disk").isEqualTo(2);
        } finally {
            stalled.release.countDown();
        }
        assertThat(db.awaitApplied(4, WAIT)).as("db goes on once its disk answers").isTrue();
        assertThat(db.points().list()).anySatisfy(point -> {
            assertThat(point.label()).isEqualTo("before-upgrade");
            assertThat(point.seq()).isEqualTo(2);
        });
    }

    @Test
    void shouldFailOnlyTheGroupWhoseApplierThrowsAndKeepTheOtherReplicating() throws Exception {
        FaultyStateFiles failing = new FaultyStateFiles("state.json", true);
        GroupReplica db = open("db", failing);
        GroupReplica web = open("web", StateFiles.DURABLE);
        TestAgentConnection agent = connect(serve(db, web), db, web);

        failing.armed = true;
        agent.send(delta("db", 1, 2, (byte) 1));
        assertThat(agent.next()).isEqualTo(new Ack("db", 2));
        assertThat(db.awaitApplied(2, WAIT)).as("db's applier cannot persist its applied seq").isFalse();
        assertThat(db.failure()).contains("cannot sync seqs 1..2").contains("injected");

        agent.send(delta("web", 1, 3, (byte) 2));
        assertThat(agent.next()).isEqualTo(new Ack("web", 3));
        assertThat(web.awaitApplied(3, WAIT)).as("web's applier is its own").isTrue();
        assertThat(web.failure()).isNull();
    }
}
