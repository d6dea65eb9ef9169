package io.ferry.agent.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.agent.pipeline.InMemoryJournal;
import io.ferry.agent.pipeline.WritePipeline;
import io.ferry.nbd.NbdClient;
import io.ferry.nbd.NbdExportRegistry;
import io.ferry.nbd.NbdServer;
import io.ferry.volume.VolumeFile;
import java.net.InetSocketAddress;
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
 * export must go on answering that export (the loop never waits for a ring slot).
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

    private static byte[] filled(int length, byte value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, value);
        return bytes;
    }
}
