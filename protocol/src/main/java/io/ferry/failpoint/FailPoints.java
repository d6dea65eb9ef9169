package io.ferry.failpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * Named points in the code where a crash test can stop a daemon on purpose (FreeBSD's and
 * TiKV's fail points), so that a kill -9 provably lands inside the step under test instead of
 * somewhere around it.
 *
 * <p>Armed only by system properties, read once at class load: {@code -Dferry.failpoints=NAME:ACTION[,NAME:ACTION...]}
 * and {@code -Dferry.failpoints.markers=DIR}. At an armed point the daemon first writes the
 * marker file {@code DIR/NAME} (the test's explicit signal, never a log line), then
 * <ul>
 *   <li>{@code pause}: parks the thread for good, so the test can kill -9 the JVM at exactly that point;</li>
 *   <li>{@code halt}: ends the JVM at once with exit code {@link #HALT_EXIT_CODE} (no shutdown hooks,
 *       nothing flushed: a kill -9 from inside).</li>
 * </ul>
 * Unarmed (always, outside tests) {@link #hit} is one read of an empty map.
 */
public final class FailPoints {
    public static final int HALT_EXIT_CODE = 86;
    public static final String PROPERTY = "ferry.failpoints";
    public static final String MARKERS_PROPERTY = "ferry.failpoints.markers";

    private static final Map<String, String> ARMED = parse(System.getProperty(PROPERTY, ""));
    private static final String MARKERS = System.getProperty(MARKERS_PROPERTY);

    private FailPoints() {
    }

    /** Passes the point {@code name}: nothing happens unless a test armed it. */
    public static void hit(String name) {
        if (ARMED.isEmpty()) {
            return;
        }
        String action = ARMED.get(name);
        if (action == null) {
            return;
        }
        mark(name);
        if (action.equals("halt")) {
            Runtime.getRuntime().halt(HALT_EXIT_CODE);
        }
        while (true) {
            LockSupport.park(FailPoints.class);
        }
    }

    /** The JVM options that arm {@code name} with {@code action}, markers in {@code markers}. */
    public static java.util.List<String> jvmOptions(String name, String action, Path markers) {
        return java.util.List.of("-D" + PROPERTY + "=" + name + ":" + action, "-D" + MARKERS_PROPERTY + "=" + markers);
    }

    private static void mark(String name) {
        if (MARKERS == null) {
            return;
        }
        Path dir = Path.of(MARKERS);
        Path tmp = dir.resolve(name + ".tmp");
        try {
            Files.createDirectories(dir);
            Files.writeString(tmp, Long.toString(ProcessHandle.current().pid()), StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("fail point " + name + ": cannot write its marker in " + dir, e);
        }
    }

    static Map<String, String> parse(String spec) {
        Map<String, String> armed = new HashMap<>();
        for (String entry : spec.split(",")) {
            String trimmed = entry.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            int colon = trimmed.lastIndexOf(':');
            String name = colon < 0 ? trimmed : trimmed.substring(0, colon);
            String action = colon < 0 ? "pause" : trimmed.substring(colon + 1);
            if (!action.equals("pause") && !action.equals("halt")) {
                throw new IllegalArgumentException(PROPERTY + ": unknown action '" + action + "' for " + name
                        + " (pause or halt)");
            }
            armed.put(name, action);
        }
        return Collections.unmodifiableMap(armed);
    }
}
