package io.ferry.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code ferry} command tree (bin/ferry's main path): help, usage errors (2), runtime failures (1). */
class CliTest {

    private static final String[] COMMANDS = {"demo", "agent", "receiver", "cert", "status", "promote", "drill",
        "bookmark"};

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int ferry(String... args) {
        out.reset();
        err.reset();
        return Ferry.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void helpShouldListEveryCommandOnStdoutAndExitZero() {
        for (String[] help : new String[][] {{"--help"}, {"-h"}, {"help"}}) {
            assertThat(ferry(help)).as(String.join(" ", help)).isZero();
            assertThat(out()).contains("Usage: ferry").contains("Exit codes: 0 success, 1 runtime failure, 2 bad usage");
            for (String command : COMMANDS) {
                assertThat(out()).as("%s lists %s", String.join(" ", help), command).containsPattern("\\n\\s+" + command + "\\s");
            }
            assertThat(err()).isEmpty();
        }
    }

    @Test
    void everyCommandShouldHaveItsOwnHelp() {
        for (String command : COMMANDS) {
            assertThat(ferry(command, "--help")).as(command).isZero();
            assertThat(out()).as(command).contains("Usage: ferry " + command);
            assertThat(err()).as(command).isEmpty();
        }
        for (String[] sub : new String[][] {{"cert", "ca", "--help"}, {"cert", "issue", "--help"},
            {"drill", "start", "--help"}, {"help", "promote"}}) {
            assertThat(ferry(sub)).as(String.join(" ", sub)).isZero();
            assertThat(out()).as(String.join(" ", sub)).contains("Usage: ferry");
        }
        assertThat(ferry("cert", "issue", "--help")).isZero();
        assertThat(out()).contains("Usage: ferry cert issue").contains("--name=NAME");
        for (String client : new String[] {"status", "promote", "drill", "bookmark"}) {
            ferry(client, "--help");
            assertThat(out()).as("%s takes --json", client).contains("--json").contains("--api=HOST:PORT")
                    .contains("--token-file=FILE");
        }
        ferry("agent", "--help");
        assertThat(out()).contains("--config=FILE").contains("--pid-file=FILE");
    }

    @Test
    void usageErrorsShouldExitTwoWithAMessageOnStderr() {
        assertThat(ferry()).isEqualTo(2);
        assertThat(err()).contains("ferry: missing command").contains("Usage: ferry");

        assertThat(ferry("promte")).isEqualTo(2);
        assertThat(err()).contains("ferry: Unmatched argument at index 0: 'promte'").contains("promote");

        assertThat(ferry("promote", "--group", "db")).isEqualTo(2);
        assertThat(err()).contains("ferry promote: Missing required options: '--api=HOST:PORT', '--token-file=FILE'")
                .contains("Usage: ferry promote");

        assertThat(ferry("status", "--api", "127.0.0.1:1", "--token-file", "t", "--bogus")).isEqualTo(2);
        assertThat(err()).contains("ferry status: Unknown option: '--bogus'");

        assertThat(ferry("agent")).isEqualTo(2);
        assertThat(err()).contains("ferry agent: Missing required option: '--config=FILE'");

        assertThat(ferry("agent", "--config", dir.resolve("missing.yaml").toString())).isEqualTo(2);
        assertThat(err()).contains("ferry agent: " + dir.resolve("missing.yaml") + ": no such file");

        assertThat(ferry("cert")).isEqualTo(2);
        assertThat(err()).contains("ferry cert: missing subcommand: ca or issue");

        assertThat(ferry("demo", "--seconds", "soon")).isEqualTo(2);
        assertThat(err()).contains("ferry demo: Invalid value for option '--seconds'");

        assertThat(ferry("promote", "--api", "127.0.0.1:1", "--token-file", dir.resolve("none").toString(),
                "--group", "db")).as("a missing token file is bad usage").isEqualTo(2);
        assertThat(err()).contains("ferry promote: ").contains("token file not found");

        assertThat(ferry("drill", "pause", "--api", "127.0.0.1:1", "--token-file", "t", "--group", "db"))
                .isEqualTo(2);
        assertThat(ferry("promote", "--api", "127.0.0.1:1", "--token-file", "t", "--group", "../x")).isEqualTo(2);
        assertThat(err()).contains("--group \"../x\" is not a valid name");
        assertThat(out()).isEmpty();
    }

    @Test
    void runtimeFailuresShouldExitOne() throws IOException {
        Path token = Files.writeString(dir.resolve("api.token"), "0123456789abcdef\n");
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        assertThat(ferry("status", "--api", "127.0.0.1:" + port, "--token-file", token.toString())).isEqualTo(1);
        assertThat(err()).contains("ferry status: ").contains("cannot reach ferry API at 127.0.0.1:" + port);
        assertThat(ferry("promote", "--api", "127.0.0.1:" + port, "--token-file", token.toString(), "--group", "db",
                "--json")).isEqualTo(1);
        assertThat(out()).isEmpty();

        Path file = Files.writeString(dir.resolve("file"), "x");
        assertThat(ferry("cert", "ca", "--out", file.resolve("sub").toString())).isEqualTo(1);
        assertThat(err()).contains("ferry cert ca: failed: ").contains("cannot create output directory");
    }
}
