package io.ferry.receiver;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReceiverMainTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return ReceiverMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String errText() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldExitTwoWithoutConfigOption() {
        assertThat(run()).isEqualTo(2);
        assertThat(errText()).contains("--config");
    }

    @Test
    void shouldExitTwoForAMissingConfigFileNamingIt() {
        Path missing = dir.resolve("receiver.yaml");
        assertThat(run("--config", missing.toString())).isEqualTo(2);
        assertThat(errText()).contains(missing.toString()).contains("no such file");
    }

    @Test
    void shouldExitTwoForABadValueNamingTheKey() throws IOException {
        Path file = Files.writeString(dir.resolve("receiver.yaml"), String.join("\n",
                "id: dr-1",
                "dataDir: data",
                "listen: 127.0.0.1:0",
                "agents: [{ id: host-a, groups: [db] }]",
                ""));
        assertThat(run("--config", file.toString())).isEqualTo(2);
        assertThat(errText()).contains("tls").contains("no plaintext mode");
    }

    @Test
    void shouldPrintHelpAndExitZero() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--config").contains("--pid-file");
    }
}
