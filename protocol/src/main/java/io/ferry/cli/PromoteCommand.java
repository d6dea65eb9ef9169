package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ferry promote --api RECEIVER --token-file F --group G [--point ID|latest] [--json]}:
 * makes a receiver's replica of a group writable at a recovery point ({@code POST
 * /v1/groups/{g}/promote {"point": ...}}, the point always sent explicitly). Waits until the
 * receiver answers.
 */
@Command(name = "promote", sortOptions = false,
        description = "Promotes a receiver's replica of a consistency group at a recovery point.")
public final class PromoteCommand implements Callable<Integer> {

    @Mixin
    CliSupport.ApiOptions api;

    @Option(names = "--group", required = true, paramLabel = "G", description = "the consistency group")
    String group;

    @Option(names = "--point", paramLabel = "ID|latest", defaultValue = "latest",
            description = "recovery point id, or latest (default)")
    String point;

    @Mixin
    HelpOption help;

    private final PrintStream out;

    /** A command that prints on {@code out}. */
    public PromoteCommand(PrintStream out) {
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
        return Cli.execute("ferry promote", new PromoteCommand(out), args, out, err);
    }

    @Override
    public Integer call() {
        String checkedGroup = CliSupport.group(group);
        String checkedPoint = CliSupport.point(point);
        JsonNode reply = api.client().post("/v1/groups/" + checkedGroup + "/promote", Map.of("point", checkedPoint));
        CliSupport.printReply(out, api, "group " + checkedGroup + " promoted at point " + checkedPoint, reply);
        return Cli.OK;
    }
}
