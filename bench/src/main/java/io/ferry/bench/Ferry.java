package io.ferry.bench;

import io.ferry.agent.AgentMain;
import io.ferry.bench.demo.Demo;
import io.ferry.cli.BookmarkCommand;
import io.ferry.cli.VerifyCommand;
import io.ferry.cli.Cli;
import io.ferry.cli.DrillCommand;
import io.ferry.cli.HelpOption;
import io.ferry.cli.PromoteCommand;
import io.ferry.cli.StatusCommand;
import io.ferry.receiver.ReceiverMain;
import io.ferry.tls.CertMain;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Main class of the one runnable jar (bench/target/ferry.jar) that {@code bin/ferry} starts: the
 * picocli command {@code ferry} with one subcommand per command of the contract (DESIGN.md
 * "Command line"). {@code ferry --help} and {@code ferry CMD --help} print usage; exit codes are
 * {@link Cli}'s: 0 success, 1 runtime failure, 2 bad usage or bad configuration.
 */
public final class Ferry {

    @Command(name = "ferry", sortOptions = false, synopsisSubcommandLabel = "COMMAND",
            description = "Host-based block replication for disaster recovery.",
            footer = {"", "Run 'ferry COMMAND --help' for a command's options.",
                "Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad configuration."},
            subcommands = CommandLine.HelpCommand.class)
    static final class Top implements Callable<Integer> {
        @Mixin
        HelpOption help;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            throw new ParameterException(spec.commandLine(), "missing command");
        }
    }

    private Ferry() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** The command tree, printing on {@code out} and {@code err}. */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine ferry = new CommandLine(new Top());
        ferry.addSubcommand("demo", new Demo.DemoCommand(out));
        ferry.addSubcommand("agent", AgentMain.command(err));
        ferry.addSubcommand("receiver", ReceiverMain.command(err));
        ferry.addSubcommand("cert", CertMain.command());
        ferry.addSubcommand("status", new StatusCommand(out));
        ferry.addSubcommand("promote", new PromoteCommand(out));
        ferry.addSubcommand("drill", new DrillCommand(out));
        ferry.addSubcommand("bookmark", new BookmarkCommand(out));
        ferry.addSubcommand("verify", new VerifyCommand(out));
        return ferry;
    }

    /** Runs the command line {@code args} and returns its exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.execute(commandLine(out, err), args, out, err);
    }
}
