package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiClient;
import io.ferry.config.HostPort;
import io.ferry.config.Names;
import java.io.PrintStream;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * What the client commands share: the {@code --api}/{@code --token-file}/{@code --json}
 * options and argument checks. Failures map to exit codes in {@link Cli}.
 */
final class CliSupport {

    static final int MAX_POINT_CHARS = 128;

    private CliSupport() {
    }

    /** {@code --api HOST:PORT --token-file F [--json]}, mixed into each client command. */
    static final class ApiOptions {
        @Option(names = "--api", required = true, paramLabel = "HOST:PORT",
                description = "the daemon's management API (its api.listen)")
        String api;

        @Option(names = "--token-file", required = true, paramLabel = "FILE",
                description = "file holding the API token (the daemon's <dataDir>/api.token)")
        Path tokenFile;

        @Option(names = "--json", description = "print the daemon's JSON reply on stdout")
        boolean json;

        /** A client for these options; a bad address or token file is a usage error. */
        ApiClient client() {
            HostPort target;
            try {
                target = HostPort.parse(api);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--api: " + e.getMessage());
            }
            return new ApiClient(target, ApiClient.readTokenFile(tokenFile), ApiClient.DEFAULT_REQUEST_TIMEOUT);
        }
    }

    /** Checks {@code --group} as a name; a bad one is a usage error. */
    static String group(String value) {
        try {
            return Names.check("--group", value);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** Checks {@code --point}: {@code latest} or a recovery point id (the receiver checks that it exists). */
    static String point(String value) {
        String point = value.strip();
        if (point.isEmpty() || point.length() > MAX_POINT_CHARS || !point.chars().allMatch(c -> c > ' ' && c <= '~')) {
            throw new UsageException("--point must be latest or a recovery point id (up to " + MAX_POINT_CHARS
                    + " characters without spaces), got \"" + value + "\"");
        }
        return point;
    }

    /**
     * Prints a daemon's reply: with {@code --json} the reply alone (the API's JSON, or {@code {}}
     * when it had no body), else {@code summary} and then the reply unless it is empty.
     */
    static void printReply(PrintStream out, ApiOptions options, String summary, JsonNode reply) {
        boolean empty = reply.isMissingNode() || reply.isNull() || reply.isContainerNode() && reply.isEmpty();
        if (options.json) {
            out.println(empty && !reply.isContainerNode() ? "{}" : StatusCommand.pretty(reply));
            return;
        }
        out.println(summary);
        if (!empty) {
            out.println(StatusCommand.pretty(reply));
        }
    }
}
