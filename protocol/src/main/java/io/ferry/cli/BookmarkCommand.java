package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ferry bookmark --api AGENT --token-file F --group G --name LABEL [--json]}: asks an agent
 * to mark the group's current write position as a named recovery point ({@code POST
 * /v1/groups/{g}/bookmarks {"name": LABEL}}), e.g. just before an application upgrade.
 */
@Command(name = "bookmark", sortOptions = false,
        description = "Marks a consistency group's current write position as a named recovery point.")
public final class BookmarkCommand implements Callable<Integer> {

    static final int MAX_LABEL_CHARS = 128;

    @Mixin
    CliSupport.ApiOptions api;

    @Option(names = "--group", required = true, paramLabel = "G", description = "the consistency group")
    String group;

    @Option(names = "--name", required = true, paramLabel = "LABEL", description = "the bookmark's label")
    String name;

    @Mixin
    HelpOption help;

    private final PrintStream out;

    /** A command that prints on {@code out}. */
    public BookmarkCommand(PrintStream out) {
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
        return Cli.execute("ferry bookmark", new BookmarkCommand(out), args, out, err);
    }

    @Override
    public Integer call() {
        String checkedGroup = CliSupport.group(group);
        String label = label(name);
        JsonNode reply = api.client().post("/v1/groups/" + checkedGroup + "/bookmarks", Map.of("name", label));
        CliSupport.printReply(out, api, "bookmark \"" + label + "\" set on group " + checkedGroup, reply);
        return Cli.OK;
    }

    private static String label(String name) {
        String label = name.strip();
        if (label.isEmpty() || label.length() > MAX_LABEL_CHARS || label.chars().anyMatch(Character::isISOControl)) {
            throw new UsageException("--name must be 1 to " + MAX_LABEL_CHARS
                    + " printable characters, got \"" + name + "\"");
        }
        return label;
    }
}
