package io.ferry.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiJson;
import java.io.PrintStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ferry status --api HOST:PORT --token-file F [--json]}: shows an agent's or a receiver's
 * {@code GET /v1/status}, as a table (one row per consistency group, lag over the RPO marked
 * {@code BREACH}) or, with {@code --json}, as the daemon's JSON.
 */
public final class StatusCommand {

    @Command(name = "ferry status", sortOptions = false,
            description = "Shows an agent's or a receiver's consistency groups, lag and RPO.")
    static final class Options {
        @Mixin
        CliSupport.ApiOptions api;

        @Option(names = "--json", description = "print the daemon's JSON instead of a table")
        boolean json;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
        boolean help;
    }

    private StatusCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String[] args) {
        return run(args, System.out, System.err);
    }

    /** Runs the command; returns 0, 1 (API unreachable or an error reply) or 2 (bad usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Options options = new Options();
        return CliSupport.execute("status", options, args, out, err, () -> {
            JsonNode status = options.api.client().get("/v1/status");
            if (options.json) {
                out.println(pretty(status));
            } else {
                out.print(StatusTable.render(status));
            }
            return CliSupport.OK;
        });
    }

    static String pretty(JsonNode json) {
        try {
            return ApiJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot print JSON", e);
        }
    }
}
