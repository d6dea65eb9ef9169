package io.ferry.receiver;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.testing.CommandRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReceiverMainTest {

    @TempDir
    Path dir;

    private final CommandRun command = new CommandRun(ReceiverMain::run);


    @Test
    void shouldExitTwoWithoutConfigOption() {
        assertThat(command.run()).isEqualTo(2);
        assertThat(command.err()).contains("--config");
    }

    @Test
    void shouldExitTwoForAMissingConfigFileNamingIt() {
        Path missing = dir.resolve("receiver.yaml");
        assertThat(command.run("--config", missing.toString())).isEqualTo(2);
        assertThat(command.err()).contains(missing.toString()).contains("no such file");
    }

    @Test
    void shouldExitTwoForABadValueNamingTheKey() throws IOException {
        Path file = Files.writeString(dir.resolve("receiver.yaml"), String.join("\n",
                "id: dr-1",
                "dataDir: data",
                "listen: 127.0.0.1:0",
                "agents: [{ id: host-a, groups: [db] }]",
                ""));
        assertThat(command.run("--config", file.toString())).isEqualTo(2);
        assertThat(command.err()).contains("tls").contains("no plaintext mode");
    }

    @Test
    void shouldPrintHelpAndExitZero() {
        assertThat(command.run("--help")).isZero();
        assertThat(command.out()).contains("--config").contains("--pid-file");
    }
}
