package io.ferry.capture.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.capture.pipeline.InMemoryJournal;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.nbd.NbdClient;
import io.ferry.nbd.NbdExportRegistry;
import io.ferry.nbd.NbdProtocol;
import io.ferry.nbd.NbdServer;
import io.ferry.volume.VolumeFile;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A group whose disk stalls fills its ring; the NBD event loop it shares with another group's
 * export must go on answering that export (the loop never waits for a ring slot), and a
 * connection held back by the full ring loses none of its writes and keeps their order.
 */
class StalledGroupIsolationTest {
    private static final int RING_SIZE = 4;
    private static final int STALLED_WRITERS = 12;
    private static final long SIZE = 1 << 20;

    @TempDir
    Path dir;

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final ExecutorService clients = Executors.newFixedThreadPool(STALLED_WRITERS + 1);
    private final AtomicLong clock = new AtomicLong(1_000);
    private InMemoryJournal stalledJournal;

    @AfterEach
    void stop() throws Exception {
        if (stalledJournal != null) {
            stalledJournal.appendGate.countDown();
        }
        clients.shutdownNow();
        assertThat(clients.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    private WritePipeline group(String name, InMemoryJournal journal, NbdExportRegistry exports) throws Exception {
        VolumeFile file = VolumeFile.openOrCreate(dir.resolve(name + ".img"), SIZE);
        resources.add(file);
        WritePipeline pipeline = WritePipeline.start(name, List.of(name + "-vol"), List.of(file), journal,
                clock::incrementAndGet, RING_SIZE);
        resources.add(pipeline);
        exports.put(name + "-vol", new CapturedVolume(name + "-vol", 0, file, pipeline));
        return pipeline;
    }

    @Test
    void shouldKeepAnsweringAnotherGroupsExportOnTheSameEventLoopWhileOneGroupsDiskStalls() throws Exception {
        NbdExportRegistry exports = new NbdExportRegistry();
        stalledJournal = new InMemoryJournal();
        stalledJournal.appendGate = new CountDownLatch(1);
        WritePipeline stalled = group("stalled", stalledJournal, exports);
        InMemoryJournal healthyJournal = new InMemoryJournal();
        group("healthy", healthyJournal, exports);
        // One event loop: every connection below shares it.
        NbdServer server = NbdServer.start(new NbdServer.Options(new InetSocketAddress("127.0.0.1", 0), null, 1,
                NbdServer.DEFAULT_MAX_PAYLOAD_BYTES), exports);
        resources.add(server);

        List<CompletableFuture<Void>> stalledWrites = new ArrayList<>();
        for (int i = 0; i < STALLED_WRITERS; i++) {
            long offset = i * 4096L;
            stalledWrites.add(CompletableFuture.runAsync(() -> {
                try (NbdClient client = NbdClient.connect(server.tcpAddress(), "stalled-vol")) {
                    client.write(offset, filled(4096, (byte) (1 + offset / 4096)), false);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, clients));
        }
        // The ring is full and the rest of the writers' connections are suspended, not parked.
        await().atMost(Duration.ofSeconds(30)).until(() -> stalled.heldRequests() == STALLED_WRITERS - RING_SIZE);
        assertThat(stalledWrites).noneMatch(CompletableFuture::isDone);

        CompletableFuture<byte[]> healthy = CompletableFuture.supplyAsync(() -> {
            try (NbdClient client = NbdClient.connect(server.tcpAddress(), "healthy-vol")) {
                for (int i = 0; i < 50; i++) {
                    client.write(i * 512L, filled(512, (byte) i), i % 10 == 0);
                }
                client.flush();
                return client.read(49 * 512L, 512);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, clients);
        assertThat(healthy.get(20, TimeUnit.SECONDS)).isEqualTo(filled(512, (byte) 49));
        assertThat(healthyJournal.records).hasSize(50);
        assertThat(stalledWrites).noneMatch(CompletableFuture::isDone);
        assertThat(stalledJournal.records).isEmpty();

        stalledJournal.appendGate.countDown();
        CompletableFuture.allOf(stalledWrites.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        assertThat(stalledJournal.records).hasSize(STALLED_WRITERS);
        assertThat(stalled.heldRequests()).isZero();
        try (NbdClient client = NbdClient.connect(server.tcpAddress(), "stalled-vol")) {
            for (int i = 0; i < STALLED_WRITERS; i++) {
                assertThat(client.read(i * 4096L, 4096)).isEqualTo(filled(4096, (byte) (1 + i)));
            }
        }
    }

    @Test
    void shouldKeepOnePipeliningConnectionsWritesInTheirOrderThroughAFullRing() throws Exception {
        NbdExportRegistry exports = new NbdExportRegistry();
        stalledJournal = new InMemoryJournal();
        stalledJournal.appendGate = new CountDownLatch(1);
        WritePipeline stalled = group("stalled", stalledJournal, exports);
        NbdServer server = NbdServer.start(new NbdServer.Options(new InetSocketAddress("127.0.0.1", 0), null, 1,
                NbdServer.DEFAULT_MAX_PAYLOAD_BYTES), exports);
        resources.add(server);
        int writes = 64;
        try (Socket socket = new Socket()) {
            socket.connect(server.tcpAddress(), 10_000);
            socket.setSoTimeout(30_000);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            exportName(in, out, "stalled-vol");
            // Every write to the same block, all sent at once: the last one sent must be the one that stays.
            for (int i = 0; i < writes; i++) {
                out.writeInt(NbdProtocol.REQUEST_MAGIC);
                out.writeShort(0);
                out.writeShort(NbdProtocol.CMD_WRITE);
                out.writeLong(i);
                out.writeLong(0);
                out.writeInt(512);
                out.write(filled(512, (byte) i));
            }
            out.flush();
            // Four requests fill the ring, the fifth is held, and the connection reads nothing more.
            await().atMost(Duration.ofSeconds(30)).until(() -> stalled.heldRequests() == 1);
            assertThat(in.available()).as("no reply while the disk stalls").isZero();
            assertThat(stalledJournal.records).isEmpty();

            stalledJournal.appendGate.countDown();
            List<Long> cookies = new ArrayList<>();
            for (int i = 0; i < writes; i++) {
                assertThat(in.readInt()).isEqualTo(NbdProtocol.SIMPLE_REPLY_MAGIC);
                assertThat(in.readInt()).as("errno").isZero();
                cookies.add(in.readLong());
            }
            assertThat(cookies).containsExactlyInAnyOrderElementsOf(
                    java.util.stream.LongStream.range(0, writes).boxed().toList());
        }
        assertThat(stalledJournal.records).extracting(r -> (int) r.data()[0])
                .containsExactlyElementsOf(java.util.stream.IntStream.range(0, writes).boxed().toList());
        try (NbdClient client = NbdClient.connect(server.tcpAddress(), "stalled-vol")) {
            assertThat(client.read(0, 512)).isEqualTo(filled(512, (byte) (writes - 1)));
        }
    }

    /** The oldstyle-compatible EXPORT_NAME negotiation: simple replies, no structured ones. */
    private static void exportName(DataInputStream in, DataOutputStream out, String export) throws Exception {
        assertThat(in.readLong()).isEqualTo(NbdProtocol.NBDMAGIC);
        assertThat(in.readLong()).isEqualTo(NbdProtocol.IHAVEOPT);
        in.readUnsignedShort();
        out.writeInt(NbdProtocol.CLIENT_FLAG_FIXED_NEWSTYLE | NbdProtocol.CLIENT_FLAG_NO_ZEROES);
        byte[] name = export.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.writeLong(NbdProtocol.IHAVEOPT);
        out.writeInt(NbdProtocol.OPT_EXPORT_NAME);
        out.writeInt(name.length);
        out.write(name);
        out.flush();
        assertThat(in.readLong()).isEqualTo(SIZE);
        in.readUnsignedShort();
    }

    private static byte[] filled(int length, byte value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, value);
        return bytes;
    }
}
