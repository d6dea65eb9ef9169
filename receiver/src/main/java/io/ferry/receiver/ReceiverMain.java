package io.ferry.receiver;

import io.ferry.cli.DaemonRunner;
import io.ferry.receiver.config.ReceiverConfig;
import java.io.PrintStream;
import picocli.CommandLine;

/**
 * {@code ferry receiver --config receiver.yaml}: loads the configuration, launches a
 * {@link ReceiverNode} and keeps it running until SIGTERM or SIGINT ({@link DaemonRunner}).
 * Exit codes: 0 after a clean stop, 1 when the receiver fails at runtime, 2 for bad usage or
 * configuration (the message names the key or file).
 */
public final class ReceiverMain {

    private ReceiverMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** The description {@code ferry receiver --help} shows. */
    static final String DESCRIPTION = "Runs the DR-site receiver: takes deltas from agents over TLS, journals and applies them to replicas.";

    /** The picocli command {@code receiver}, to add under {@code ferry}. */
    public static CommandLine command(PrintStream err) {
        return DaemonRunner.command("receiver", DESCRIPTION, err, config -> ReceiverNode.launch(ReceiverConfig.load(config)));
    }

    /** Runs the receiver command; returns the process exit code once the receiver has stopped. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return DaemonRunner.run("receiver", DESCRIPTION, args, out, err, config -> ReceiverNode.launch(ReceiverConfig.load(config)));
    }
}
