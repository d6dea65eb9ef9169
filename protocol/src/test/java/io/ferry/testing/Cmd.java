package io.ferry.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs an external tool to completion with a deadline and captures its output (stdout and stderr merged). */
public final class Cmd {

    /** What a finished command left behind. */
    public record Result(List<String> command, int exitCode, String output) {
        public Result assertSuccess() {
            if (exitCode != 0) {
                throw new AssertionError("command failed with exit code " + exitCode + ": " + String.join(" ", command)
                        + "\n" + output);
            }
            return this;
        }

        /** fio and friends print a text line before their JSON: the JSON starts at the first '{'. */
        public String json() {
            int start = output.indexOf('{');
            if (start < 0) {
                throw new AssertionError("no JSON in output of " + String.join(" ", command) + ":\n" + output);
            }
            return output.substring(start);
        }
    }

    private Cmd() {
    }

    public static Result run(long timeoutSeconds, String... command) {
        return run(timeoutSeconds, Arrays.asList(command));
    }

    public static Result run(long timeoutSeconds, List<String> command) {
        Path out = null;
        try {
            out = Files.createTempFile("ferry-cmd", ".out");
            Process process = new ProcessBuilder(new ArrayList<>(command))
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
                throw new AssertionError("command did not finish within " + timeoutSeconds + " s: "
                        + String.join(" ", command) + "\n" + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(List.copyOf(command), process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + String.join(" ", command), e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // temp file; nothing else to do
                }
            }
        }
    }
}
