package io.ferry.agent;

import io.ferry.agent.config.AgentConfig;
import io.ferry.cli.DaemonRunner;
import java.io.PrintStream;
import picocli.CommandLine;

/**
 * {@code ferry agent --config agent.yaml}: loads the configuration, launches an {@link AgentNode}
 * and keeps it running until SIGTERM or SIGINT ({@link DaemonRunner}). Exit codes: 0 after a
 * clean stop, 1 when the agent fails at runtime, 2 for bad usage or configuration.
 */
public final class AgentMain {

    private AgentMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** The description {@code ferry agent --help} shows. */
    static final String DESCRIPTION = "Runs the compute-host agent: an NBD server that journals every write of its volumes and ships them.";

    /** The picocli command {@code agent}, to add under {@code ferry}. */
    public static CommandLine command(PrintStream err) {
        return DaemonRunner.command("agent", DESCRIPTION, err, config -> AgentNode.launch(AgentConfig.load(config)));
    }

    /** Runs the agent command; returns the process exit code once the agent has stopped. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return DaemonRunner.run("agent", DESCRIPTION, args, out, err, config -> AgentNode.launch(AgentConfig.load(config)));
    }
}
