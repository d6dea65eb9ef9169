package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiClientException;
import io.ferry.config.ConfigException;
import io.ferry.config.HostPort;
import io.ferry.config.Names;
import java.io.PrintStream;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * What the client commands share: the {@code --api}/{@code --token-file} options, argument
 * checks, and the mapping of failures to exit codes (0 ok, 1 runtime failure, 2 bad usage or a
 * bad file).
 */
final class CliSupport {

    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int MAX_POINT_CHARS = 128;

    private static final Logger log = LoggerFactory.getLogger(CliSupport.class);

    private CliSupport() {
    }

    /** {@code --api HOST:PORT --token-file F}, mixed into each command. */
    static final class ApiOptions {
        @Option(names = "--api", required = true, paramLabel = "HOST:PORT",
                description = "the daemon's management API (its api.listen)")
        String api;

        @Option(names = "--token-file", required = true, paramLabel = "FILE",
                description = "file holding the API token (the daemon's <dataDir>/api.token)")
        Path tokenFile;

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

    /** A command-line mistake found after parsing; exit code 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    @FunctionalInterface
    interface Action {
        int run();
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

    /** Prints a daemon's reply after a command's summary line, unless it is empty. */
    static void printReply(PrintStream out, JsonNode reply) {
        if (reply.isMissingNode() || reply.isNull() || reply.isContainerNode() && reply.isEmpty()) {
            return;
        }
        out.println(StatusCommand.pretty(reply));
    }

    /**
     * Parses {@code args} into {@code options} (a picocli {@code @Command}) and runs {@code action},
     * printing errors as {@code ferry NAME: message} on {@code err}.
     */
    static int execute(String name, Object options, String[] args, PrintStream out, PrintStream err, Action action) {
        CommandLine commandLine = new CommandLine(options);
        try {
            commandLine.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            err.println("ferry " + name + ": " + e.getMessage());
            commandLine.usage(err);
            return USAGE;
        }
        if (commandLine.isUsageHelpRequested()) {
            commandLine.usage(out);
            return OK;
        }
        try {
            return action.run();
        } catch (UsageException e) {
            err.println("ferry " + name + ": " + e.getMessage());
            return USAGE;
        } catch (ConfigException e) {
            err.println("ferry " + name + ": " + e.getMessage());
            return USAGE;
        } catch (ApiClientException e) {
            err.println("ferry " + name + ": " + e.getMessage());
            return FAILED;
        } catch (RuntimeException e) {
            log.debug("ferry {} failed", name, e);
            err.println("ferry " + name + ": failed: " + e);
            return FAILED;
        }
    }
}
