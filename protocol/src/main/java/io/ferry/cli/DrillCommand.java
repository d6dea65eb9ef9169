package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry drill start|stop --api RECEIVER --token-file F --group G [--point ID]}: starts a DR
 * drill (a writable clone of the replica at a recovery point, replication going on;
 * {@code POST /v1/groups/{g}/drill {"point": ...}}) or ends it ({@code DELETE}).
 */
public final class DrillCommand {

    @Command(name = "ferry drill", sortOptions = false,
            description = "Starts or stops a DR drill on a receiver: a writable clone of a replica at a recovery point.")
    static final class Options {
        @Parameters(index = "0", paramLabel = "start|stop", description = "start or stop the drill")
        String action;

        @Mixin
        CliSupport.ApiOptions api;

        @Option(names = "--group", required = true, paramLabel = "G", description = "the consistency group")
        String group;

        @Option(names = "--point", paramLabel = "ID|latest",
                description = "recovery point to clone (start only; default latest)")
        String point;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
        boolean help;
    }

    private DrillCommand() {
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
        return CliSupport.execute("drill", options, args, out, err, () -> {
            String group = CliSupport.group(options.group);
            String path = "/v1/groups/" + group + "/drill";
            JsonNode reply;
            switch (options.action) {
                case "start": {
                    String point = CliSupport.point(options.point == null ? "latest" : options.point);
                    reply = options.api.client().post(path, Map.of("point", point));
                    out.println("drill started for group " + group + " at point " + point);
                    break;
                }
                case "stop":
                    if (options.point != null) {
                        throw new CliSupport.UsageException("--point only applies to 'drill start'");
                    }
                    reply = options.api.client().delete(path);
                    out.println("drill stopped for group " + group);
                    break;
                default:
                    throw new CliSupport.UsageException("expected 'start' or 'stop', got \"" + options.action + "\"");
            }
            CliSupport.printReply(out, reply);
            return CliSupport.OK;
        });
    }
}
