package io.ferry.tls;

import java.io.PrintStream;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/**
 * {@code ferry cert ca --out DIR} and {@code ferry cert issue --ca DIR --name NAME --out DIR}:
 * the command line over {@link Certificates}. Exit codes: 0 success, 1 runtime failure (a write
 * failed), 2 bad usage or bad input (the message names the argument or file).
 */
public final class CertMain {

    private static final Logger LOG = LoggerFactory.getLogger(CertMain.class);

    @Command(name = "ferry cert", sortOptions = false, synopsisSubcommandLabel = "(ca | issue)",
            description = "Creates the certificates of a ferry deployment.",
            subcommands = {CaOptions.class, IssueOptions.class})
    static final class CertOptions {
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
        boolean help;
    }

    @Command(name = "ca", sortOptions = false,
            description = "Creates a new CA: DIR/ca.pem and DIR/ca.key (mode 0600; keep it offline).")
    static final class CaOptions {
        @Option(names = "--out", required = true, paramLabel = "DIR", description = "directory to write into (created if missing)")
        Path out;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
        boolean help;
    }

    @Command(name = "issue", sortOptions = false,
            description = "Issues DIR/NAME.pem and DIR/NAME.key (mode 0600) for an agent or receiver, signed by the CA.")
    static final class IssueOptions {
        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "the CA directory (ca.pem, ca.key)")
        Path ca;

        @Option(names = "--name", required = true, paramLabel = "NAME",
                description = "the agent or receiver id: the certificate's CN, [A-Za-z0-9._-]{1,64}")
        String name;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "directory to write into (created if missing)")
        Path out;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
        boolean help;
    }

    private CertMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the cert command and returns the process exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine commandLine = new CommandLine(new CertOptions());
        ParseResult parsed;
        try {
            parsed = commandLine.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            err.println("ferry cert: " + e.getMessage());
            e.getCommandLine().usage(err);
            return 2;
        }
        if (commandLine.isUsageHelpRequested()) {
            commandLine.usage(out);
            return 0;
        }
        if (!parsed.hasSubcommand()) {
            err.println("ferry cert: missing subcommand: ca or issue");
            commandLine.usage(err);
            return 2;
        }
        CommandLine sub = parsed.subcommand().commandSpec().commandLine();
        if (sub.isUsageHelpRequested()) {
            sub.usage(out);
            return 0;
        }
        try {
            Object options = sub.getCommand();
            if (options instanceof CaOptions ca) {
                Certificates.Issued issued = Certificates.createCa(ca.out);
                out.println("wrote " + issued.cert() + " and " + issued.key()
                        + " (the CA key signs every certificate: keep it off the daemons' hosts)");
            } else {
                IssueOptions issue = (IssueOptions) options;
                Certificates.Issued issued = Certificates.issue(issue.ca, issue.name, issue.out);
                out.println("wrote " + issued.cert() + " and " + issued.key() + " for " + issue.name);
            }
            return 0;
        } catch (TlsFileException | IllegalArgumentException e) {
            err.println("ferry cert " + sub.getCommandName() + ": " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            LOG.debug("cert {} failed", sub.getCommandName(), e);
            err.println("ferry cert " + sub.getCommandName() + ": failed: " + e.getMessage());
            return 1;
        }
    }
}
