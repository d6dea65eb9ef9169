package io.ferry.cli;

import io.ferry.api.ApiClientException;
import io.ferry.config.ConfigException;
import io.ferry.tls.TlsFileException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * How every ferry command runs under picocli: usage, {@code --help}, and the exit codes of the
 * contract (0 success, 1 runtime failure, 2 bad usage or bad configuration). A parameter error
 * (unknown option, missing required option, unknown command) goes through the parameter
 * exception handler: {@code ferry CMD: message}, the command's usage, exit 2. An exception from
 * a command's {@code call} goes through the execution exception handler, which prints
 * {@code ferry CMD: message} and takes the exit code from the {@link #exitCode exception mapper}.
 */
public final class Cli {

    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    private static final Logger LOG = LoggerFactory.getLogger(Cli.class);

    private Cli() {
    }

    /**
     * Runs {@code command} (a picocli {@code @Command} object or a built {@link CommandLine}) on
     * its own, named {@code name} in messages and usage (e.g. "ferry status"); returns the exit code.
     */
    public static int execute(String name, Object command, String[] args, PrintStream out, PrintStream err) {
        CommandLine commandLine = command instanceof CommandLine built ? built : new CommandLine(command);
        commandLine.setCommandName(name);
        return execute(commandLine, args, out, err);
    }

    /** Runs a command tree configured with {@link #configure}; returns the exit code. */
    public static int execute(CommandLine commandLine, String[] args, PrintStream out, PrintStream err) {
        configure(commandLine, out, err);
        try {
            return commandLine.execute(args);
        } finally {
            commandLine.getOut().flush();
            commandLine.getErr().flush();
        }
    }

    /**
     * Sets ferry's streams, handlers and exit codes on {@code commandLine} and every subcommand
     * added so far (call it after adding them).
     */
    public static CommandLine configure(CommandLine commandLine, PrintStream out, PrintStream err) {
        commandLine.setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        commandLine.setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        commandLine.setExitCodeExceptionMapper(Cli::exitCode);
        commandLine.setParameterExceptionHandler((e, args) -> {
            CommandLine failed = e.getCommandLine();
            PrintWriter writer = failed.getErr();
            writer.println(failed.getCommandSpec().qualifiedName() + ": " + e.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(e, writer);
            failed.usage(writer);
            writer.flush();
            return USAGE;
        });
        commandLine.setExecutionExceptionHandler((e, failed, parseResult) -> {
            int code = failed.getExitCodeExceptionMapper().getExitCode(e);
            String name = failed.getCommandSpec().qualifiedName();
            if (code == USAGE || e instanceof ApiClientException) {
                failed.getErr().println(name + ": " + e.getMessage());
            } else {
                LOG.debug("{} failed", name, e);
                failed.getErr().println(name + ": failed: " + describe(e));
            }
            failed.getErr().flush();
            return code;
        });
        return commandLine;
    }

    /** The exception mapper: bad usage, configuration or input files are 2, everything else 1. */
    public static int exitCode(Throwable e) {
        if (e instanceof UsageException || e instanceof ConfigException || e instanceof TlsFileException
                || e instanceof CommandLine.ParameterException) {
            return USAGE;
        }
        return FAILED;
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.toString() : message;
    }
}
