package io.ferry.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as written in configuration: {@code 0s}, {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}. */
public final class Durations {

    static final String EXPECTED =
            "expected a whole number with a unit ms, s, m or h (e.g. 500ms, 30s, 5m, 1h)";

    private static final Pattern DURATION = Pattern.compile("([0-9]+)\\s?([A-Za-z]*)");

    private Durations() {
    }

    /**
     * Parses a duration; the unit is required (a bare number is ambiguous).
     *
     * @throws IllegalArgumentException naming the value and what is expected
     */
    public static Duration parse(String text) {
        String trimmed = text == null ? "" : text.trim();
        if (trimmed.startsWith("-")) {
            throw new IllegalArgumentException("\"" + trimmed + "\" is negative; " + EXPECTED);
        }
        Matcher m = DURATION.matcher(trimmed);
        if (!m.matches()) {
            throw new IllegalArgumentException("\"" + trimmed + "\" is not a duration; " + EXPECTED);
        }
        long number;
        try {
            number = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + trimmed + "\" is too large; " + EXPECTED, e);
        }
        try {
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(number);
                case "s" -> Duration.ofSeconds(number);
                case "m" -> Duration.ofMinutes(number);
                case "h" -> Duration.ofHours(number);
                case "" -> throw new IllegalArgumentException("\"" + trimmed + "\" has no unit; " + EXPECTED);
                default -> throw new IllegalArgumentException(
                        "\"" + trimmed + "\" has an unknown unit \"" + m.group(2) + "\"; " + EXPECTED);
            };
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("\"" + trimmed + "\" is too large; " + EXPECTED, e);
        }
    }

    /** Formats a duration in the largest unit that divides it exactly, e.g. {@code 30s}; the inverse of {@link #parse}. */
    public static String format(Duration duration) {
        long ms = duration.toMillis();
        if (ms != 0 && ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms != 0 && ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
