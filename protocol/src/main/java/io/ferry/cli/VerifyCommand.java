package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ferry verify --api AGENT --token-file F --group G [--repair] [--wait] [--json]}: compares
 * the group's volumes with the replica, block by block, each region at the exact seq the agent
 * read it at ({@code POST /v1/groups/{g}/verify {"repair": BOOL}}), and with {@code --wait}
 * follows it ({@code GET /v1/groups/{g}/verify}) until it ends. Exit codes: 0 when no mismatch is
 * left (none found, or every one repaired), 1 when mismatches were found and not repaired (they
 * are listed), when the verify failed or the API refused, 2 for bad usage. Without {@code --wait}
 * it exits 0 once the verify started.
 */
@Command(name = "verify", sortOptions = false,
        description = "Verifies a consistency group's replica against its volumes, block by block, under load.")
public final class VerifyCommand implements Callable<Integer> {

    @Mixin
    CliSupport.ApiOptions api;

    @Option(names = "--group", required = true, paramLabel = "G", description = "the consistency group")
    String group;

    @Option(names = "--repair", description = "send the ranges found different again")
    boolean repair;

    @Option(names = "--wait", description = "wait until the verify ends and report what it found")
    boolean await;

    @Mixin
    HelpOption help;

    private final PrintStream out;

    /** A command that prints on {@code out}. */
    public VerifyCommand(PrintStream out) {
        this.out = out;
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.execute("ferry verify", new VerifyCommand(out), args, out, err);
    }

    @Override
    public Integer call() throws InterruptedException {
        String checkedGroup = CliSupport.group(group);
        String path = "/v1/groups/" + checkedGroup + "/verify";
        JsonNode run = api.client().post(path, Map.of("repair", repair));
        while (await && "running".equals(run.path("state").asText())) {
            Thread.sleep(500);
            run = api.client().get(path);
        }
        if (api.json) {
            out.println(run.toPrettyString());
        } else {
            print(checkedGroup, run);
        }
        if (!await) {
            return Cli.OK;
        }
        if (!"done".equals(run.path("state").asText())) {
            return Cli.FAILED;
        }
        boolean found = run.path("mismatches").size() > 0 || run.path("mismatchedBytes").asLong() > 0;
        return found && !run.path("repair").asBoolean() ? Cli.FAILED : Cli.OK;
    }

    private void print(String checkedGroup, JsonNode run) {
        out.printf("verify of group %s %s at seq %d: %d of %d bytes compared, %d bytes different%s%n", checkedGroup,
                run.path("state").asText(), run.path("seq").asLong(), run.path("verifiedBytes").asLong(),
                run.path("totalBytes").asLong(), run.path("mismatchedBytes").asLong(),
                run.path("repair").asBoolean() ? ", " + run.path("repairedBytes").asLong() + " bytes repaired" : "");
        for (JsonNode m : run.path("mismatches")) {
            out.printf("  mismatch: volume %s offset %d length %d%s%n", m.path("volume").asText(),
                    m.path("offset").asLong(), m.path("length").asLong(), run.path("repair").asBoolean()
                    ? " (repaired)" : "");
        }
        if (!run.path("problem").isMissingNode() && !run.path("problem").isNull()) {
            out.println("  problem: " + run.path("problem").asText());
        }
    }
}
