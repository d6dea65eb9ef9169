package io.ferry.bench;

import io.ferry.agent.AgentMain;
import io.ferry.bench.demo.Demo;
import io.ferry.receiver.ReceiverMain;
import io.ferry.cli.BookmarkCommand;
import io.ferry.cli.DrillCommand;
import io.ferry.cli.PromoteCommand;
import io.ferry.cli.StatusCommand;
import io.ferry.tls.CertMain;
import java.io.PrintStream;
import java.util.Arrays;

/**
 * Main class of the one runnable jar (bench/target/ferry.jar) that {@code bin/ferry} starts:
 * dispatches the first argument to the command of that name. Exit codes: 0 success, 1 runtime
 * failure, 2 bad usage or bad configuration.
 */
public final class Ferry {

    private static final String USAGE = String.join("\n",
            "usage: ferry COMMAND [OPTIONS]",
            "",
            "Commands:",
            "  demo                                             the main job on an embedded default",
            "  agent    --config agent.yaml [--pid-file F]      compute-host daemon",
            "  receiver --config receiver.yaml [--pid-file F]   DR-site daemon",
            "  cert ca    --out DIR                             new CA (ca.pem, ca.key)",
            "  cert issue --ca DIR --name NAME --out DIR        NAME.pem, NAME.key signed by the CA",
            "  status   --api HOST:PORT --token-file F [--json]",
            "  promote  --api RECEIVER --token-file F --group G [--point ID|latest]",
            "  drill    start|stop --api RECEIVER --token-file F --group G [--point ID]",
            "  bookmark --api AGENT --token-file F --group G --name LABEL",
            "",
            "Run 'ferry COMMAND --help' for a command's options.",
            "Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad configuration.");


    private Ferry() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command named by {@code args[0]} and returns its exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(USAGE);
            return 2;
        }
        String command = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (command.equals("-h") || command.equals("--help") || command.equals("help")) {
            out.println(USAGE);
            return 0;
        }
        switch (command) {
            case "demo":
                return Demo.run(rest, out, err);
            case "agent":
                return AgentMain.run(rest, out, err);
            case "receiver":
                return ReceiverMain.run(rest, out, err);
            case "cert":
                return CertMain.run(rest, out, err);
            case "status":
                return StatusCommand.run(rest, out, err);
            case "promote":
                return PromoteCommand.run(rest, out, err);
            case "drill":
                return DrillCommand.run(rest, out, err);
            case "bookmark":
                return BookmarkCommand.run(rest, out, err);
            default:
                break;
        }
        err.println("ferry: unknown command \"" + command + "\"");
        err.println(USAGE);
        return 2;
    }
}
