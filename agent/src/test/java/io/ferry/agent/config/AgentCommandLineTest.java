package io.ferry.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.agent.AgentMain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@code ferry agent} reports bad usage and bad configuration: exit code 2 and a message naming the key. */
class AgentCommandLineTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return AgentMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldExitTwoWithUsageWhenConfigIsMissing() {
        assertThat(run()).isEqualTo(2);
        assertThat(err()).contains("ferry agent: Missing required option: '--config=FILE'").contains("Usage: ferry agent");
    }

    @Test
    void shouldExitTwoWithUsageForAnUnknownOption() {
        assertThat(run("--config", "a.yaml", "--verbose")).isEqualTo(2);
        assertThat(err()).contains("Unknown option: '--verbose'").contains("Usage: ferry agent");
    }

    @Test
    void shouldPrintHelpToStdoutAndExitZero() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--config=FILE").contains("--pid-file=FILE");
        assertThat(err()).isEmpty();
    }

    @Test
    void shouldExitTwoNamingTheFileLineAndKeyOfABadValue() throws IOException {
        Path file = dir.resolve("agent.yaml");
        Files.writeString(file, String.join("\n",
                "id: host-a",
                "dataDir: data",
                "nbd: { listen: 127.0.0.1:0 }",
                "groups:",
                "  - name: db",
                "    volumes:",
                "      - { name: v, path: v.img, size: 1000 }",
                ""));
        assertThat(run("--config", file.toString())).isEqualTo(2);
        assertThat(err()).startsWith("ferry agent: " + file + ":7: groups[0].volumes[0].size: 1000 bytes is not a multiple of 512");
    }

    @Test
    void shouldExitTwoNamingAMissingConfigFile() {
        Path file = dir.resolve("absent.yaml");
        assertThat(run("--config", file.toString())).isEqualTo(2);
        assertThat(err()).isEqualTo("ferry agent: " + file + ": no such file" + System.lineSeparator());
    }
}
