package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ferry bookmark --api AGENT --token-file F --group G --name LABEL}: asks an agent to mark
 * the group's current write position as a named recovery point ({@code POST
 * /v1/groups/{g}/bookmarks {"name": LABEL}}), e.g. just before an application upgrade.
 */
public final class BookmarkCommand {

    static final int MAX_LABEL_CHARS = 128;

    @Command(name = "ferry bookmark", sortOptions = false,
            description = "Marks a consistency group's current write position as a named recovery point.")
    static final class Options {
        @Mixin
        CliSupport.ApiOptions api;

        @Option(names = "--group", required = true, paramLabel = "G", description = "the consistency group")
        String group;

        @Option(names = "--name", required = true, paramLabel = "LABEL", description = "the bookmark's label")
        String name;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
        boolean help;
    }

    private BookmarkCommand() {
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
        return CliSupport.execute("bookmark", options, args, out, err, () -> {
            String group = CliSupport.group(options.group);
            String label = label(options.name);
            JsonNode reply = options.api.client().post("/v1/groups/" + group + "/bookmarks", Map.of("name", label));
            out.println("bookmark \"" + label + "\" set on group " + group);
            CliSupport.printReply(out, reply);
            return CliSupport.OK;
        });
    }

    private static String label(String name) {
        String label = name.strip();
        if (label.isEmpty() || label.length() > MAX_LABEL_CHARS || label.chars().anyMatch(Character::isISOControl)) {
            throw new CliSupport.UsageException("--name must be 1 to " + MAX_LABEL_CHARS
                    + " printable characters, got \"" + name + "\"");
        }
        return label;
    }
}
