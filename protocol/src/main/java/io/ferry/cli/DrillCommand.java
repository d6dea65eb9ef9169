package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry drill start|stop --api RECEIVER --token-file F --group G [--point ID] [--json]}:
 * starts a DR drill (a writable clone of the replica at a recovery point, replication going on;
 * {@code POST /v1/groups/{g}/drill {"point": ...}}, the point always sent, latest by default) or
 * ends it ({@code DELETE}).
 */
@Command(name = "drill", sortOptions = false,
        description = "Starts or stops a DR drill on a receiver: a writable clone of a replica at a recovery point.")
public final class DrillCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "start|stop", description = "start or stop the drill")
    String action;

    @Mixin
    CliSupport.ApiOptions api;

    @Option(names = "--group", required = true, paramLabel = "G", description = "the consistency group")
    String group;

    @Option(names = "--point", paramLabel = "ID|latest",
            description = "recovery point to clone (start only; default latest)")
    String point;

    @Mixin
    HelpOption help;

    private final PrintStream out;

    /** A command that prints on {@code out}. */
    public DrillCommand(PrintStream out) {
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
        return Cli.execute("ferry drill", new DrillCommand(out), args, out, err);
    }

    @Override
    public Integer call() {
        String checkedGroup = CliSupport.group(group);
        String path = "/v1/groups/" + checkedGroup + "/drill";
        switch (action) {
            case "start": {
                String checkedPoint = CliSupport.point(point == null ? "latest" : point);
                JsonNode reply = api.client().post(path, Map.of("point", checkedPoint));
                CliSupport.printReply(out, api, "drill started for group " + checkedGroup + " at point "
                        + checkedPoint, reply);
                return Cli.OK;
            }
            case "stop": {
                if (point != null) {
                    throw new UsageException("--point only applies to 'drill start'");
                }
                JsonNode reply = api.client().delete(path);
                CliSupport.printReply(out, api, "drill stopped for group " + checkedGroup, reply);
                return Cli.OK;
            }
            default:
                throw new UsageException("expected 'start' or 'stop', got \"" + action + "\"");
        }
    }
}
