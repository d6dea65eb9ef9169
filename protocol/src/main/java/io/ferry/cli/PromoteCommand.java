package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ferry promote --api RECEIVER --token-file F --group G [--point ID|latest]}: makes a
 * receiver's replica of a group writable at a recovery point ({@code POST /v1/groups/{g}/promote
 * {"point": ...}}). Waits until the receiver answers.
 */
public final class PromoteCommand {

    @Command(name = "ferry promote", sortOptions = false,
            description = "Promotes a receiver's replica of a consistency group at a recovery point.")
    static final class Options {
        @Mixin
        CliSupport.ApiOptions api;

        @Option(names = "--group", required = true, paramLabel = "G", description = "the consistency group")
        String group;

        @Option(names = "--point", paramLabel = "ID|latest", defaultValue = "latest",
                description = "recovery point id, or latest (default)")
        String point;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
        boolean help;
    }

    private PromoteCommand() {
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
        return CliSupport.execute("promote", options, args, out, err, () -> {
            String group = CliSupport.group(options.group);
            String point = CliSupport.point(options.point);
            JsonNode reply = options.api.client().post("/v1/groups/" + group + "/promote", Map.of("point", point));
            out.println("group " + group + " promoted at point " + point);
            CliSupport.printReply(out, reply);
            return CliSupport.OK;
        });
    }
}
