package io.ferry.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;

/**
 * Guards for tests that drive real tools nobody here wrote (fio, qemu-img, qemu-io, nbdinfo,
 * nbdcopy, qemu-nbd, nbdkit). Without a tool the test is skipped with a loud message on stderr;
 * with {@code FERRY_REQUIRE_INTEROP=1} (as .ci/run sets it) the test fails instead.
 */
public final class Interop {

    private Interop() {
    }

    public static boolean required() {
        return "1".equals(System.getenv("FERRY_REQUIRE_INTEROP"));
    }

    /** Skips (or, when interop is required, fails) the calling test unless every tool is on PATH. */
    public static void requireTools(String... tools) {
        for (String tool : tools) {
            if (which(tool) == null) {
                String message = "INTEROP TEST SKIPPED: '" + tool + "' is not installed"
                        + " (apt-get install -y fio qemu-utils libnbd-bin nbdkit)";
                if (required()) {
                    fail(message.replace("SKIPPED", "FAILED") + " and FERRY_REQUIRE_INTEROP=1");
                }
                System.err.println("*** " + message + " ***");
                assumeTrue(false, message);
            }
        }
    }

    public static String which(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            File candidate = new File(dir, tool);
            if (candidate.isFile() && candidate.canExecute()) {
                return candidate.getAbsolutePath();
            }
        }
        return null;
    }
}
