package io.ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.nbd.NbdClient;
import io.ferry.testing.Cmd;
import io.ferry.testing.Interop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real NBD clients nobody here wrote, against a running agent (TCP and the Unix socket). */
class AgentInteropTest {
    @TempDir
    Path dir;

    private AgentNode agent;

    @BeforeEach
    void launch() throws Exception {
        agent = AgentNode.launch(AgentFixture.config(dir));
    }

    @AfterEach
    void close() {
        agent.close();
    }

    private String uri(String export) {
        return "nbd://127.0.0.1:" + agent.nbdAddress().getPort() + "/" + export;
    }

    private String unixUri(String export) {
        return "nbd+unix:///" + export + "?socket=" + agent.nbdSocket();
    }

    @Test
    void shouldDescribeListAndMapExportsToNbdinfo() throws Exception {
        Interop.requireTools("nbdinfo");
        try (NbdClient client = NbdClient.connect(agent.nbdAddress(), "db-log")) {
            client.write(0, new byte[1 << 20], false);
        }
        String info = Cmd.run(60, "nbdinfo", uri("db-data")).assertSuccess().output();
        assertThat(info).contains("export-size: " + AgentFixture.VOLUME_BYTES).contains("can_flush: true")
                .contains("can_fua: true").contains("can_multi_conn: true").contains("can_trim: true")
                .contains("can_zero: true").contains("is_read_only: false");
        String list = Cmd.run(60, "nbdinfo", "--list", uri("")).assertSuccess().output();
        assertThat(list).contains("export=\"db-data\"").contains("export=\"db-log\"");
        String map = Cmd.run(60, "nbdinfo", "--map", unixUri("db-log")).assertSuccess().output();
        assertThat(map).matches("(?s)\\s*0\\s+1048576\\s+0\\s+data\\s+1048576\\s+"
                + (AgentFixture.VOLUME_BYTES - (1 << 20)) + "\\s+3\\s+hole,zero\\s*");
    }

    @Test
    void shouldReportTheExportToQemuImgInfo() {
        Interop.requireTools("qemu-img");
        String info = Cmd.run(60, "qemu-img", "info", "--output=json", uri("db-data")).assertSuccess().output();
        assertThat(info).contains("\"virtual-size\": " + AgentFixture.VOLUME_BYTES).contains("\"format\": \"raw\"");
    }

    @Test
    void shouldServeAQemuIoScriptOfFuaWritesZeroesDiscardsAndFlush() {
        Interop.requireTools("qemu-io");
        Cmd.Result result = Cmd.run(120, "qemu-io", "-f", "raw", uri("db-data"),
                "-c", "write -P 0xab -f 0 64k",
                "-c", "read -P 0xab 0 64k",
                "-c", "write -P 0xcd 64k 64k",
                "-c", "read -P 0xcd 64k 64k",
                "-c", "write -z 64k 64k",
                "-c", "read -P 0 64k 64k",
                "-c", "write -P 0xef -f 1M 128k",
                "-c", "discard 1M 64k",
                "-c", "read -P 0 1M 64k",
                "-c", "read -P 0xef 1088k 64k",
                "-c", "flush").assertSuccess();
        assertThat(result.output()).doesNotContain("Pattern verification failed").doesNotContain("error")
                .contains("wrote 65536/65536").contains("read 65536/65536");
    }

    @Test
    void shouldCopyA64MiBFileInAndOutByteForByteWithNbdcopy() throws Exception {
        Interop.requireTools("nbdcopy");
        Path source = dir.resolve("source.img");
        byte[] bytes = new byte[64 << 20];
        new Random(64).nextBytes(bytes);
        Files.write(source, bytes);
        Cmd.run(120, "nbdcopy", "--flush", source.toString(), uri("db-log")).assertSuccess();
        Path back = dir.resolve("back.img");
        Cmd.run(120, "nbdcopy", unixUri("db-log"), back.toString()).assertSuccess();
        assertThat(Files.mismatch(source, back)).isEqualTo(-1L);
        assertThat(Files.mismatch(source, dir.resolve("db-log.img"))).isEqualTo(-1L);
    }

    @Test
    void shouldVerifyTheSecondFioGenerationAndMatchTheBackingFileWithQemuImgCompare() {
        Interop.requireTools("fio", "qemu-img");
        assertThat(fio(uri("db-data"), "0x5eed0001", false).exitCode()).isZero();
        assertThat(fio(unixUri("db-data"), "0x5eed0002", false).exitCode()).isZero();
        Cmd.Result current = fio(uri("db-data"), "0x5eed0002", true);
        assertThat(current.exitCode()).as(current.output()).isZero();
        Cmd.Result stale = fio(uri("db-data"), "0x5eed0001", true);
        assertThat(stale.exitCode()).as("verifying the overwritten generation must fail").isNotZero();

        Cmd.run(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", uri("db-data"), dir.resolve("db-data.img").toString())
                .assertSuccess();
    }

    private static Cmd.Result fio(String uri, String generation, boolean verifyOnly) {
        List<String> command = new ArrayList<>(List.of("fio", "--name=gen", "--ioengine=nbd", "--uri=" + uri,
                "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=32m", "--offset=0", "--randseed=4242",
                "--verify=pattern", "--verify_pattern=" + generation + "%o", "--verify_state_save=0"));
        command.add(verifyOnly ? "--verify_only=1" : "--do_verify=0");
        return Cmd.run(300, command);
    }
}
