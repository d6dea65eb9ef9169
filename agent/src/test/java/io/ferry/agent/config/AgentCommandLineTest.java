package io.ferry.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.agent.AgentMain;
import io.ferry.testing.CommandRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@code ferry agent} reports bad usage and bad configuration: exit code 2 and a message naming the key. */
class AgentCommandLineTest {

    @TempDir
    Path dir;

    private final CommandRun command = new CommandRun(AgentMain::run);


    @Test
    void shouldExitTwoWithUsageWhenConfigIsMissing() {
        assertThat(command.run()).isEqualTo(2);
        assertThat(command.err()).contains("ferry agent: Missing required option: '--config=FILE'").contains("Usage: ferry agent");
    }

    @Test
    void shouldExitTwoWithUsageForAnUnknownOption() {
        assertThat(command.run("--config", "a.yaml", "--verbose")).isEqualTo(2);
        assertThat(command.err()).contains("Unknown option: '--verbose'").contains("Usage: ferry agent");
    }

    @Test
    void shouldPrintHelpToStdoutAndExitZero() {
        assertThat(command.run("--help")).isZero();
        assertThat(command.out()).contains("--config=FILE").contains("--pid-file=FILE");
        assertThat(command.err()).isEmpty();
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
        assertThat(command.run("--config", file.toString())).isEqualTo(2);
        assertThat(command.err()).startsWith("ferry agent: " + file + ":7: groups[0].volumes[0].size: 1000 bytes is not a multiple of 512");
    }

    @Test
    void shouldExitTwoNamingAMissingConfigFile() {
        Path file = dir.resolve("absent.yaml");
        assertThat(command.run("--config", file.toString())).isEqualTo(2);
        assertThat(command.err()).isEqualTo("ferry agent: " + file + ": no such file" + System.lineSeparator());
    }
}
