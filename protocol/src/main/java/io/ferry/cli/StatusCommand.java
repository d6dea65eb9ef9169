package io.ferry.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiJson;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code ferry status --api HOST:PORT --token-file F [--json]}: shows an agent's or a receiver's
 * {@code GET /v1/status}, as a table (one row per consistency group, lag over the RPO marked
 * {@code BREACH}) or, with {@code --json}, as the daemon's JSON.
 */
@Command(name = "status", sortOptions = false,
        description = "Shows an agent's or a receiver's consistency groups, lag and RPO.")
public final class StatusCommand implements Callable<Integer> {

    @Mixin
    CliSupport.ApiOptions api;

    @Mixin
    HelpOption help;

    private final PrintStream out;

    /** A command that prints on {@code out}. */
    public StatusCommand(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String[] args) {
        return run(args, System.out, System.err);
    }

    /** Runs the command; returns 0, 1 (API unreachable or an error reply) or 2 (bad usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.execute("ferry status", new StatusCommand(out), args, out, err);
    }

    @Override
    public Integer call() {
        JsonNode status = api.client().get("/v1/status");
        if (api.json) {
            out.println(pretty(status));
        } else {
            out.print(StatusTable.render(status));
        }
        return Cli.OK;
    }

    static String pretty(JsonNode json) {
        try {
            return ApiJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot print JSON", e);
        }
    }
}
