package io.ferry.cli;

import static io.ferry.cli.StatusCommandTest.args;
import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.api.ApiException;
import io.ferry.api.ApiRequest;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupCommandsTest {

    private static final String RECEIVER_STATUS = "{\"id\":\"dr-1\",\"groups\":[]}";

    @TempDir
    Path dataDir;

    private final FakeDaemon.Console console = new FakeDaemon.Console();

    @Test
    void promoteShouldPostTheLatestPointByDefault() {
        try (FakeDaemon receiver = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            int code = PromoteCommand.run(args(receiver, "--group", "db"), console.out, console.err);

            assertThat(code).isZero();
            ApiRequest request = receiver.requests.get(0);
            assertThat(request.method()).isEqualTo("POST");
            assertThat(request.path()).isEqualTo("/v1/groups/db/promote");
            assertThat(request.body()).isEqualTo(FakeDaemon.parse("{\"point\":\"latest\"}"));
            assertThat(console.out()).contains("group db promoted at point latest");
        }
    }

    @Test
    void promoteShouldPostTheGivenPoint() {
        try (FakeDaemon receiver = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            int code = PromoteCommand.run(args(receiver, "--group", "db", "--point", "p-42"), console.out, console.err);

            assertThat(code).isZero();
            assertThat(receiver.requests.get(0).body()).isEqualTo(FakeDaemon.parse("{\"point\":\"p-42\"}"));
        }
    }

    @Test
    void promoteShouldExit1WithTheReceiversMessageWhenItRefuses() {
        try (FakeDaemon receiver = new FakeDaemon(dataDir, RECEIVER_STATUS, request -> {
            throw new ApiException(409, "already_promoted", "group db is already promoted");
        })) {
            int code = PromoteCommand.run(args(receiver, "--group", "db"), console.out, console.err);

            assertThat(code).isEqualTo(1);
            assertThat(console.err()).contains("409 already_promoted").contains("group db is already promoted");
        }
    }

    @Test
    void promoteShouldExit2WithoutGroupAndSendNothing() {
        try (FakeDaemon receiver = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            int code = PromoteCommand.run(args(receiver), console.out, console.err);

            assertThat(code).isEqualTo(2);
            assertThat(console.err()).contains("--group");
            assertThat(receiver.requests).isEmpty();
        }
    }

    @Test
    void promoteShouldExit2ForAGroupThatIsNotAName() {
        try (FakeDaemon receiver = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            int code = PromoteCommand.run(args(receiver, "--group", "../etc"), console.out, console.err);

            assertThat(code).isEqualTo(2);
            assertThat(console.err()).contains("--group \"../etc\" is not a valid name");
            assertThat(receiver.requests).isEmpty();
        }
    }

    @Test
    void drillStartShouldPostThePointAndStopShouldDelete() {
        try (FakeDaemon receiver = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            assertThat(DrillCommand.run(args(receiver, "start", "--group", "db", "--point", "p-7"),
                    console.out, console.err)).isZero();
            assertThat(DrillCommand.run(args(receiver, "stop", "--group", "db"), console.out, console.err)).isZero();

            assertThat(receiver.requests).extracting(ApiRequest::method, ApiRequest::path).containsExactly(
                    org.assertj.core.groups.Tuple.tuple("POST", "/v1/groups/db/drill"),
                    org.assertj.core.groups.Tuple.tuple("DELETE", "/v1/groups/db/drill"));
            assertThat(receiver.requests.get(0).body()).isEqualTo(FakeDaemon.parse("{\"point\":\"p-7\"}"));
            assertThat(console.out()).contains("drill started for group db at point p-7")
                    .contains("drill stopped for group db");
        }
    }

    @Test
    void drillShouldExit2ForAnUnknownActionOrAPointOnStop() {
        try (FakeDaemon receiver = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            assertThat(DrillCommand.run(args(receiver, "pause", "--group", "db"), console.out, console.err))
                    .isEqualTo(2);
            assertThat(console.err()).contains("expected 'start' or 'stop'");
            assertThat(DrillCommand.run(args(receiver, "stop", "--group", "db", "--point", "p-1"),
                    console.out, console.err)).isEqualTo(2);
            assertThat(console.err()).contains("--point only applies to 'drill start'");
            assertThat(DrillCommand.run(args(receiver, "--group", "db"), console.out, console.err)).isEqualTo(2);
            assertThat(receiver.requests).isEmpty();
        }
    }

    @Test
    void bookmarkShouldPostTheLabel() {
        try (FakeDaemon agent = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            int code = BookmarkCommand.run(args(agent, "--group", "db", "--name", "before upgrade"),
                    console.out, console.err);

            assertThat(code).isZero();
            ApiRequest request = agent.requests.get(0);
            assertThat(request.path()).isEqualTo("/v1/groups/db/bookmarks");
            assertThat(request.body()).isEqualTo(FakeDaemon.parse("{\"name\":\"before upgrade\"}"));
            assertThat(console.out()).contains("bookmark \"before upgrade\" set on group db");
        }
    }

    @Test
    void bookmarkShouldExit2WithoutNameOrGroup() {
        try (FakeDaemon agent = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            assertThat(BookmarkCommand.run(args(agent, "--group", "db"), console.out, console.err)).isEqualTo(2);
            assertThat(console.err()).contains("--name");
            assertThat(BookmarkCommand.run(args(agent, "--name", "x"), console.out, console.err)).isEqualTo(2);
            assertThat(BookmarkCommand.run(args(agent, "--group", "db", "--name", " "), console.out, console.err))
                    .isEqualTo(2);
            assertThat(agent.requests).isEmpty();
        }
    }

    @Test
    void everyGroupCommandShouldPrintOnlyTheDaemonsJsonWithJson() {
        try (FakeDaemon daemon = new FakeDaemon(dataDir, RECEIVER_STATUS)) {
            String[][] commands = {
                {"promote", "--group", "db", "--json"},
                {"drill", "start", "--group", "db", "--json"},
                {"drill", "stop", "--group", "db", "--json"},
                {"bookmark", "--group", "db", "--name", "x", "--json"}};
            for (String[] command : commands) {
                FakeDaemon.Console console = new FakeDaemon.Console();
                String[] rest = java.util.Arrays.copyOfRange(command, 1, command.length);
                int code = switch (command[0]) {
                    case "promote" -> PromoteCommand.run(args(daemon, rest), console.out, console.err);
                    case "drill" -> DrillCommand.run(args(daemon, rest), console.out, console.err);
                    default -> BookmarkCommand.run(args(daemon, rest), console.out, console.err);
                };
                assertThat(code).as(String.join(" ", command)).isZero();
                assertThat(FakeDaemon.parse(console.out())).as(String.join(" ", command))
                        .isEqualTo(FakeDaemon.parse("{\"ok\":true}"));
                assertThat(console.err()).isEmpty();
            }
            assertThat(daemon.requests.get(1).body()).isEqualTo(FakeDaemon.parse("{\"point\":\"latest\"}"));
        }
    }

    @Test
    void helpShouldExitZeroOnStdoutAndUsageErrorsTwoOnStderr() {
        FakeDaemon.Console console = new FakeDaemon.Console();
        assertThat(PromoteCommand.run(new String[] {"--help"}, console.out, console.err)).isZero();
        assertThat(console.out()).contains("Usage: ferry promote").contains("--point").contains("--json");
        assertThat(console.err()).isEmpty();

        FakeDaemon.Console wrong = new FakeDaemon.Console();
        assertThat(BookmarkCommand.run(new String[] {"--group", "db", "--name", "x", "--api", "h:1",
            "--token-file", "t", "--force"}, wrong.out, wrong.err)).isEqualTo(2);
        assertThat(wrong.err()).contains("ferry bookmark: Unknown option: '--force'").contains("Usage: ferry bookmark");
        assertThat(wrong.out()).isEmpty();
    }
}
