package io.ferry.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs a command's {@code run(args, out, err)} entry point in-process and keeps what it printed. */
public final class CommandRun {

    /** A command's entry point: returns its exit code. */
    @FunctionalInterface
    public interface Entry {
        int run(String[] args, PrintStream out, PrintStream err);
    }

    private final Entry entry;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    public CommandRun(Entry entry) {
        this.entry = entry;
    }

    public int run(String... args) {
        return entry.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    public String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    public String err() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
