package io.ferry.nbd;

import static io.ferry.nbd.NbdProtocol.*;
import static io.ferry.nbd.NbdWire.*;

import io.ferry.nbd.NbdWire.Reply;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server over real TCP and Unix sockets, driven by {@link NbdClient} and by hand-made bytes. */
class NbdServerTest {

    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    private final NbdExportRegistry exports = new NbdExportRegistry();
    private final MemoryBlockDevice disk = new MemoryBlockDevice(SIZE);
    private NbdServer server;

    @BeforeEach
    void start() {
        exports.put("disk", disk);
        exports.put("ro", new MemoryBlockDevice(SIZE, true, false));
        server = NbdServer.start(NbdServer.Options.loopback().withUnixSocket(dir.resolve("nbd.sock")).withIoThreads(2),
                exports);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void clientOverTcpWritesReadsZeroesTrimsAndFlushes() throws IOException {
        assertThat(server.tcpAddress().getPort()).isPositive();
        try (NbdClient client = NbdClient.connect(server.tcpAddress(), "disk")) {
            assertThat(client.size()).isEqualTo(SIZE);
            assertThat(client.structuredReplies()).isTrue();
            assertThat(client.maxBlockBytes()).isEqualTo(NbdServer.DEFAULT_MAX_PAYLOAD_BYTES);
            assertThat(client.transmissionFlags() & (FLAG_SEND_FLUSH | FLAG_SEND_FUA | FLAG_CAN_MULTI_CONN))
                    .isEqualTo(FLAG_SEND_FLUSH | FLAG_SEND_FUA | FLAG_CAN_MULTI_CONN);
            byte[] data = randomBytes(1 << 20, 1);
            client.write(4096, data, true);
            assertThat(client.read(4096, data.length)).isEqualTo(data);
            client.writeZeroes(8192, 4096, false);
            assertThat(client.read(8192, 4096)).containsOnly(0);
            client.trim(0, 4096);
            client.flush();
        }
        assertThat(disk.calls()).contains("write 4096+1048576 fua", "zero 8192+4096", "trim 0+4096", "flush");
    }

    @Test
    void clientOverUnixSocketWorksAndCloseRemovesTheSocket() throws IOException {
        Path socket = server.unixSocket();
        assertThat(socket).exists();
        try (NbdClient client = NbdClient.connectUnix(socket, "disk")) {
            client.write(0, filled(512, 0x11), false);
            assertThat(client.read(0, 512)).containsOnly(0x11);
        }
        server.close();
        assertThat(socket).doesNotExist();
    }

    @Test
    void errorRepliesThrowWithTheirErrno() throws IOException {
        try (NbdClient client = NbdClient.connect(server.tcpAddress(), "disk");
             NbdClient readOnly = NbdClient.connect(server.tcpAddress(), "ro")) {
            assertThatThrownBy(() -> client.read(SIZE - 1, 2)).isInstanceOfSatisfying(NbdException.class,
                    e -> assertThat(e.errno()).isEqualTo(NbdErrors.EINVAL));
            assertThatThrownBy(() -> client.write(SIZE - 1, new byte[2], false)).isInstanceOfSatisfying(
                    NbdException.class, e -> assertThat(e.errno()).isEqualTo(NbdErrors.ENOSPC));
            assertThatThrownBy(() -> readOnly.write(0, new byte[2], false)).isInstanceOfSatisfying(
                    NbdException.class, e -> assertThat(e.errno()).isEqualTo(NbdErrors.EPERM));
            assertThat(readOnly.transmissionFlags() & FLAG_READ_ONLY).isNotZero();
            disk.failNext(NbdErrors.EIO);
            assertThatThrownBy(() -> client.read(0, 512)).isInstanceOfSatisfying(NbdException.class,
                    e -> assertThat(e.errno()).isEqualTo(NbdErrors.EIO));
            assertThat(client.read(0, 512)).hasSize(512);
        }
    }

    @Test
    void unknownExportIsRefused() {
        assertThatThrownBy(() -> NbdClient.connect(server.tcpAddress(), "missing"))
                .isInstanceOf(NbdException.class).hasMessageContaining("missing");
    }

    @Test
    void exportAddedAtRuntimeIsServedToNewConnections() throws IOException {
        exports.put("promoted", new MemoryBlockDevice(8192));
        try (NbdClient client = NbdClient.connect(server.tcpAddress(), "promoted")) {
            assertThat(client.size()).isEqualTo(8192);
        }
    }

    @Test
    void misbehavingClientIsDroppedWhileOthersKeepWorking() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try (Socket bad = rawTransmission("disk")) {
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                int worker = w;
                workers.add(pool.submit(() -> {
                    try (NbdClient client = NbdClient.connect(server.tcpAddress(), "disk")) {
                        for (int i = 0; i < 50; i++) {
                            long offset = (long) (worker * 64 + i) * 4096;
                            byte[] data = randomBytes(4096, worker * 1000 + i);
                            client.write(offset, data, false);
                            assertThat(client.read(offset, 4096)).isEqualTo(data);
                        }
                    }
                    return null;
                }));
            }
            OutputStream out = bad.getOutputStream();
            out.write(filled(64, 0x66));
            out.flush();
            assertThat(bad.getInputStream().read()).isEqualTo(-1);
            for (Future<?> future : workers) {
                future.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void clientVanishingMidPayloadLeavesTheDeviceUntouched() throws IOException {
        try (Socket socket = rawTransmission("disk")) {
            byte[] write = NbdWire.write(0, 1, 0, filled(65536, 1));
            socket.getOutputStream().write(write, 0, write.length - 1000);
            socket.getOutputStream().flush();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> server.connectionCount() == 0);
        assertThat(disk.calls()).isEmpty();
    }

    @Test
    void plainEofAfterNegotiationIsHarmless() throws IOException {
        rawTransmission("disk").close();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.connectionCount() == 0);
        try (NbdClient client = NbdClient.connect(server.tcpAddress(), "disk")) {
            client.flush();
        }
    }

    @Test
    void oversizedOptionClosesTheConnection() throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(server.tcpAddress());
            DataInputStream in = new DataInputStream(socket.getInputStream());
            readGreeting(in);
            OutputStream out = socket.getOutputStream();
            out.write(concat(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE),
                    java.nio.ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(OPT_GO).putInt(1 << 30).array()));
            out.flush();
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @Test
    void pipelinedRequestsAreAllAnsweredWithTheirCookies() throws IOException {
        try (Socket socket = rawTransmission("disk")) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            int count = 2000;
            byte[][] requests = new byte[count][];
            for (int i = 0; i < count; i++) {
                requests[i] = i % 2 == 0 ? NbdWire.write(0, i, (long) i * 512, filled(512, i))
                        : request(0, CMD_FLUSH, i, 0, 0);
            }
            out.write(concat(requests));
            out.flush();
            java.util.BitSet seen = new java.util.BitSet();
            for (int i = 0; i < count; i++) {
                Reply reply = readReply(in);
                assertThat(reply.errno()).isZero();
                seen.set((int) reply.cookie());
            }
            assertThat(seen.cardinality()).isEqualTo(count);
        }
    }

    @Test
    void optionsRefuseInvalidSettings() {
        assertThatThrownBy(() -> new NbdServer.Options(null, null, 1, 1 << 20))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NbdServer.Options.loopback().withMaxPayloadBytes(5000))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxPayloadBytes");
        assertThatThrownBy(() -> NbdServer.Options.loopback().withIoThreads(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ioThreads");
    }

    @Test
    void closeDropsOpenConnections() throws IOException {
        try (Socket socket = rawTransmission("disk")) {
            server.close();
            assertThat(socket.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(Files.exists(dir.resolve("nbd.sock"))).isFalse();
    }

    /** A socket that negotiated {@code export} with GO (no structured replies) and is in transmission. */
    private Socket rawTransmission(String export) throws IOException {
        Socket socket = new Socket();
        socket.connect(server.tcpAddress());
        DataInputStream in = new DataInputStream(socket.getInputStream());
        readGreeting(in);
        socket.getOutputStream().write(concat(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES),
                option(OPT_GO, goData(export))));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_INFO);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        return socket;
    }

    private static byte[] randomBytes(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
