package io.ferry.tls;

import java.io.PrintStream;
import java.nio.file.Path;
import io.ferry.cli.Cli;
import io.ferry.cli.HelpOption;
import io.ferry.cli.UsageException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code ferry cert ca --out DIR} and {@code ferry cert issue --ca DIR --name NAME --out DIR}:
 * the command line over {@link Certificates}. Exit codes: 0 success, 1 runtime failure (a write
 * failed), 2 bad usage or bad input (the message names the argument or file).
 */
public final class CertMain {

    @Command(name = "cert", sortOptions = false, synopsisSubcommandLabel = "(ca | issue)",
            description = "Creates the certificates of a ferry deployment.",
            subcommands = {CaOptions.class, IssueOptions.class})
    static final class CertOptions implements Callable<Integer> {
        @Mixin
        HelpOption help;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            throw new ParameterException(spec.commandLine(), "missing subcommand: ca or issue");
        }
    }

    @Command(name = "ca", sortOptions = false,
            description = "Creates a new CA: DIR/ca.pem and DIR/ca.key (mode 0600; keep it offline).")
    static final class CaOptions implements Callable<Integer> {
        @Option(names = "--out", required = true, paramLabel = "DIR", description = "directory to write into (created if missing)")
        Path out;

        @Mixin
        HelpOption help;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Certificates.Issued issued = refusingBadInput(() -> Certificates.createCa(out));
            spec.commandLine().getOut().println("wrote " + issued.cert() + " and " + issued.key()
                    + " (the CA key signs every certificate: keep it off the daemons' hosts)");
            return 0;
        }
    }

    @Command(name = "issue", sortOptions = false,
            description = "Issues DIR/NAME.pem and DIR/NAME.key (mode 0600) for an agent or receiver, signed by the CA.")
    static final class IssueOptions implements Callable<Integer> {
        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "the CA directory (ca.pem, ca.key)")
        Path ca;

        @Option(names = "--name", required = true, paramLabel = "NAME",
                description = "the agent or receiver id: the certificate's CN, [A-Za-z0-9._-]{1,64}")
        String name;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "directory to write into (created if missing)")
        Path out;

        @Mixin
        HelpOption help;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Certificates.Issued issued = refusingBadInput(() -> Certificates.issue(ca, name, out));
            spec.commandLine().getOut().println("wrote " + issued.cert() + " and " + issued.key() + " for " + name);
            return 0;
        }
    }

    private CertMain() {
    }

    /** A bad argument (an invalid name) is a usage error, exit 2; an unusable input file is one too. */
    private static Certificates.Issued refusingBadInput(java.util.function.Supplier<Certificates.Issued> action) {
        try {
            return action.get();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The picocli command {@code cert} with its subcommands, to add under {@code ferry}. */
    public static CommandLine command() {
        return new CommandLine(new CertOptions());
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the cert command and returns the process exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.execute("ferry cert", command(), args, out, err);
    }
}
