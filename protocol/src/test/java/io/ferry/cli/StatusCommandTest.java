package io.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatusCommandTest {

    static final String AGENT_STATUS = """
            {"id":"host-a","receiver":{"connected":true},"groups":[
              {"name":"db","rpoSeconds":30,"state":"replicating","capturedSeq":1042,"ackedSeq":1040,
               "lagSeconds":0.4,"journalBytes":12582912,
               "volumes":[{"name":"db-data","sizeBytes":10737418240,"export":"db-data"}]},
              {"name":"logs","rpoSeconds":5,"state":"replicating","capturedSeq":88,"ackedSeq":12,
               "lagSeconds":7.5,"journalBytes":1536,"volumes":[]},
              {"name":"sync","rpoSeconds":0,"state":"syncing","capturedSeq":3,"ackedSeq":3,
               "lagSeconds":0,"journalBytes":0,"volumes":[]},
              {"name":"flagged","rpoSeconds":60.0,"state":"replicating","capturedSeq":9,"ackedSeq":1,
               "lagSeconds":59.6,"rpoBreach":true,"journalBytes":0,"volumes":[]}]}
            """;

    static final String RECEIVER_STATUS = """
            {"id":"dr-1","groups":[
              {"name":"db","agent":"host-a","state":"replicating","receivedSeq":1040,"appliedSeq":1038,
               "lagSeconds":125,"oldestRecoverableSeq":900,"undoBytes":1572864,"volumes":[]},
              {"name":"logs","agent":"host-b","state":"promoted","receivedSeq":12,"appliedSeq":12,
               "lagSeconds":0,"volumes":[]}]}
            """;

    @TempDir
    Path dataDir;

    @Test
    void shouldPrintOneRowPerAgentGroupMarkingLagOverTheRpo() {
        try (FakeDaemon agent = new FakeDaemon(dataDir, AGENT_STATUS)) {
            FakeDaemon.Console console = new FakeDaemon.Console();

            int code = StatusCommand.run(args(agent), console.out, console.err);

            assertThat(code).isZero();
            assertThat(console.err()).isEmpty();
            List<String> lines = lines(console.out());
            assertThat(lines.get(0)).contains("agent host-a").contains("receiver: connected");
            assertThat(lines.get(1).split("\\s+"))
                    .containsExactly("GROUP", "STATE", "RPO", "LAG", "CAPTURED", "ACKED", "JOURNAL");
            assertThat(lines.get(2).split("\\s+"))
                    .containsExactly("db", "replicating", "30s", "0.4s", "1042", "1040", "12.0", "MiB");
            assertThat(lines.get(3).split("\\s+"))
                    .containsExactly("logs", "replicating", "5s", "7.5s", "BREACH", "88", "12", "1.5", "KiB");
            assertThat(lines.get(4)).startsWith("sync").contains("0s (sync)").doesNotContain("BREACH");
            assertThat(lines.get(5).split("\\s+"))
                    .containsExactly("flagged", "replicating", "1m00s", "1m00s", "BREACH", "9", "1", "0", "B");
            assertThat(lines).hasSize(6);
            assertThat(lines.get(2).indexOf("replicating")).isEqualTo(lines.get(1).indexOf("STATE"));
        }
    }

    @Test
    void shouldShowAnAgentThatLostItsReceiver() {
        String disconnected = AGENT_STATUS.replace("\"connected\":true", "\"connected\":false");
        try (FakeDaemon agent = new FakeDaemon(dataDir, disconnected)) {
            FakeDaemon.Console console = new FakeDaemon.Console();

            assertThat(StatusCommand.run(args(agent), console.out, console.err)).isZero();
            assertThat(lines(console.out()).get(0)).contains("receiver: NOT CONNECTED");
        }
    }

    @Test
    void shouldPrintOneRowPerReceiverGroup() {
        try (FakeDaemon receiver = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            FakeDaemon.Console console = new FakeDaemon.Console();

            int code = StatusCommand.run(args(receiver), console.out, console.err);

            assertThat(code).isZero();
            List<String> lines = lines(console.out());
            assertThat(lines.get(0)).isEqualTo("receiver dr-1");
            assertThat(lines.get(1).split("\\s+"))
                    .containsExactly("GROUP", "AGENT", "STATE", "LAG", "RECEIVED", "APPLIED", "RECOVERABLE", "UNDO");
            assertThat(lines.get(2).split("\\s+"))
                    .containsExactly("db", "host-a", "replicating", "2m05s", "1040", "1038", "900", "1.5", "MiB");
            assertThat(lines.get(3).split("\\s+"))
                    .containsExactly("logs", "host-b", "promoted", "0s", "12", "12", "-", "-");
            assertThat(lines).hasSize(4);
        }
    }

    @Test
    void shouldSayWhenThereAreNoGroups() {
        try (FakeDaemon receiver = new FakeDaemon(dataDir, "{\"id\":\"dr-1\",\"groups\":[]}")) {
            FakeDaemon.Console console = new FakeDaemon.Console();

            assertThat(StatusCommand.run(args(receiver), console.out, console.err)).isZero();
            assertThat(console.out()).isEqualTo("receiver dr-1\n(no groups)\n");
        }
    }

    @Test
    void shouldPrintTheDaemonsJsonWithJsonFlag() {
        try (FakeDaemon agent = new FakeDaemon(dataDir, AGENT_STATUS)) {
            FakeDaemon.Console console = new FakeDaemon.Console();

            int code = StatusCommand.run(append(args(agent), "--json"), console.out, console.err);

            assertThat(code).isZero();
            assertThat(FakeDaemon.parse(console.out())).isEqualTo(FakeDaemon.parse(AGENT_STATUS));
        }
    }

    @Test
    void shouldExit1WhenTheApiCannotBeReached() throws IOException {
        Path tokenFile = Files.writeString(dataDir.resolve("api.token"), "0123456789abcdef0123456789abcdef");
        int port;
        try (ServerSocket closed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = closed.getLocalPort();
        }
        FakeDaemon.Console console = new FakeDaemon.Console();

        int code = StatusCommand.run(new String[] {"--api", "127.0.0.1:" + port, "--token-file", tokenFile.toString()},
                console.out, console.err);

        assertThat(code).isEqualTo(1);
        assertThat(console.err()).contains("cannot reach ferry API at 127.0.0.1:" + port);
        assertThat(console.out()).isEmpty();
    }

    @Test
    void shouldExit1WhenTheTokenIsWrong(@TempDir Path other) throws IOException {
        try (FakeDaemon agent = new FakeDaemon(dataDir, AGENT_STATUS)) {
            Path wrong = Files.writeString(other.resolve("api.token"), "0123456789abcdef0123456789abcdef");
            FakeDaemon.Console console = new FakeDaemon.Console();

            int code = StatusCommand.run(new String[] {"--api", agent.api(), "--token-file", wrong.toString()},
                    console.out, console.err);

            assertThat(code).isEqualTo(1);
            assertThat(console.err()).contains("401").contains("token");
        }
    }

    @Test
    void shouldExit2ForBadUsage() {
        FakeDaemon.Console console = new FakeDaemon.Console();
        Path missingToken = dataDir.resolve("missing.token");

        assertThat(StatusCommand.run(new String[] {"--token-file", missingToken.toString()}, console.out, console.err))
                .isEqualTo(2);
        assertThat(console.err()).contains("--api");
        assertThat(StatusCommand.run(new String[] {"--api", "127.0.0.1:1", "--token-file", missingToken.toString()},
                console.out, console.err)).isEqualTo(2);
        assertThat(console.err()).contains(missingToken.toString());
        assertThat(StatusCommand.run(new String[] {"--api", "no-port", "--token-file", missingToken.toString()},
                console.out, console.err)).isEqualTo(2);
        assertThat(console.err()).contains("--api: \"no-port\" has no port");
    }

    @Test
    void shouldPrintHelpAndExit0() {
        FakeDaemon.Console console = new FakeDaemon.Console();

        assertThat(StatusCommand.run(new String[] {"--help"}, console.out, console.err)).isZero();
        assertThat(console.out()).contains("--token-file").contains("--json");
    }

    static String[] args(FakeDaemon daemon, String... more) {
        String[] base = {"--api", daemon.api(), "--token-file", daemon.tokenFile.toString()};
        return append(base, more);
    }

    static String[] append(String[] args, String... more) {
        String[] all = Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    private static List<String> lines(String text) {
        return List.of(text.split("\n"));
    }
}
