package io.ferry.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.testing.Interop;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real NBD clients (libnbd's nbdinfo, qemu-img, qemu-io, qemu-nbd, fio) against the server. */
class NbdInteropTest {

    private static final long SIZE = 64L << 20;
    private static final long TIMEOUT_S = 120;

    @TempDir
    Path dir;

    private FileBlockDevice disk;
    private FileBlockDevice readOnly;
    private NbdServer server;
    private String tcpUri;

    @BeforeEach
    void start() throws IOException {
        disk = FileBlockDevice.openOrCreate(dir.resolve("disk.img"), SIZE);
        FileBlockDevice.openOrCreate(dir.resolve("ro.img"), 1 << 20).close();
        readOnly = FileBlockDevice.open(dir.resolve("ro.img"), true);
        NbdExportRegistry exports = new NbdExportRegistry().put("disk", disk).put("ro", readOnly);
        server = NbdServer.start(NbdServer.Options.loopback().withUnixSocket(dir.resolve("nbd.sock")), exports);
        tcpUri = "nbd://127.0.0.1:" + server.tcpAddress().getPort();
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        disk.close();
        readOnly.close();
    }

    @Test
    void nbdinfoShowsTheExport() throws Exception {
        Interop.requireTools("nbdinfo");
        String out = run("nbdinfo", tcpUri + "/disk");
        assertThat(out).contains("export-size: " + SIZE).contains("can_flush: true").contains("can_fua: true")
                .contains("can_multi_conn: true").contains("is_read_only: false").contains("block_size_maximum: "
                        + NbdServer.DEFAULT_MAX_PAYLOAD_BYTES);
        assertThat(run("nbdinfo", tcpUri + "/ro")).contains("is_read_only: true");
    }

    @Test
    void nbdinfoListsExports() throws Exception {
        Interop.requireTools("nbdinfo");
        assertThat(run("nbdinfo", "--list", tcpUri)).contains("export=\"disk\"", "export=\"ro\"");
    }

    @Test
    void nbdinfoMapUsesBaseAllocation() throws Exception {
        Interop.requireTools("nbdinfo", "qemu-io");
        run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 1M 1M", tcpUri + "/disk");
        // the sparse file reports its holes: a hole, the 1 MiB written, the hole to the end
        assertThat(run("nbdinfo", "--map", tcpUri + "/disk").lines().map(String::trim).toList())
                .containsExactly("0     1048576    3  hole,zero", "1048576     1048576    0  data",
                        "2097152    65011712    3  hole,zero");
    }

    @Test
    void qemuImgInfoReadsTheSize() throws Exception {
        Interop.requireTools("qemu-img");
        assertThat(run("qemu-img", "info", tcpUri + "/disk")).contains("virtual size: 64 MiB");
    }

    @Test
    void qemuNbdListsExports() throws Exception {
        Interop.requireTools("qemu-nbd");
        assertThat(run("qemu-nbd", "--list", "--bind=127.0.0.1", "--port=" + server.tcpAddress().getPort()))
                .contains("disk").contains("ro");
    }

    @Test
    void qemuIoWritesReadsZeroesDiscardsAndFlushes() throws Exception {
        Interop.requireTools("qemu-io");
        String out = run("qemu-io", "-f", "raw", tcpUri + "/disk",
                "-c", "write -P 0xab -f 0 64k",
                "-c", "read -P 0xab 0 64k",
                "-c", "write -P 0xcd 64k 64k",
                "-c", "write -z 64k 64k",
                "-c", "read -P 0 64k 64k",
                "-c", "discard 128k 64k",
                "-c", "flush",
                "-c", "read -P 0xab 0 64k");
        assertThat(out).doesNotContain("fail", "error", "Pattern verification");
        assertThat(out).contains("wrote 65536/65536", "read 65536/65536");
    }

    @Test
    void fioRandomWritesVerifyOverTcp() throws Exception {
        Interop.requireTools("fio");
        fio(tcpUri + "/disk");
    }

    @Test
    void fioRandomWritesVerifyOverUnixSocket() throws Exception {
        Interop.requireTools("fio");
        fio("nbd+unix:///disk?socket=" + server.unixSocket());
    }

    @Test
    void nbdcopyWithFourConnectionsCopiesAnImageThatQemuImgComparesEqual() throws Exception {
        Interop.requireTools("nbdcopy", "qemu-img");
        Path source = dir.resolve("source.img");
        byte[] block = new byte[1 << 20];
        new java.util.Random(7).nextBytes(block);
        try (var out = java.nio.channels.FileChannel.open(source, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            for (long offset = 0; offset < SIZE; offset += 4L << 20) { // data every 4 MiB, holes between
                out.write(java.nio.ByteBuffer.wrap(block), offset);
            }
            out.truncate(SIZE);
            if (out.size() < SIZE) {
                out.write(java.nio.ByteBuffer.allocate(1), SIZE - 1);
            }
        }
        run("nbdcopy", "--flush", "--connections=4", source.toString(), tcpUri + "/disk");
        run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), tcpUri + "/disk");
    }

    private void fio(String uri) throws Exception {
        String out = run("fio", "--name=verify", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=4k",
                "--size=16m", "--iodepth=32", "--verify=crc32c", "--fsync=16", "--output-format=normal");
        assertThat(out).contains("err= 0").doesNotContain("verify: bad", "fio: verify");
    }

    /** Runs a tool, returns stdout+stderr, fails the test on a non-zero exit or a timeout. */
    private String run(String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of(command));
        ProcessBuilder builder = new ProcessBuilder(args).redirectErrorStream(true).directory(dir.toFile());
        builder.environment().put("LIBNBD_DEBUG", "0");
        Process process = builder.start();
        try {
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
                throw new AssertionError(String.join(" ", command) + " did not finish in " + TIMEOUT_S + " s");
            }
            String text = new String(output, StandardCharsets.UTF_8);
            assertThat(process.exitValue()).as("%s exit status; output:%n%s", String.join(" ", command), text)
                    .isZero();
            return text;
        } finally {
            process.destroyForcibly();
        }
    }
}
