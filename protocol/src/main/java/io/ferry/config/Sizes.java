package io.ferry.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte sizes as written in configuration: {@code 512}, {@code 4096B}, {@code 64KiB}, {@code 10GiB}, {@code 2TiB}. */
public final class Sizes {

    static final String EXPECTED =
            "expected a whole number of bytes with an optional unit B, KiB, MiB, GiB or TiB (e.g. 512, 64KiB, 10GiB)";

    private static final Pattern SIZE = Pattern.compile("([0-9]+)\\s?([A-Za-z]*)");

    private Sizes() {
    }

    /**
     * Parses a size in bytes.
     *
     * @throws IllegalArgumentException naming the value and what is expected, for a negative or
     *     malformed number, an unknown unit, or a size that does not fit in a long
     */
    public static long parseBytes(String text) {
        String trimmed = text == null ? "" : text.trim();
        if (trimmed.startsWith("-")) {
            throw new IllegalArgumentException("\"" + trimmed + "\" is negative; " + EXPECTED);
        }
        Matcher m = SIZE.matcher(trimmed);
        if (!m.matches()) {
            throw new IllegalArgumentException("\"" + trimmed + "\" is not a size; " + EXPECTED);
        }
        int shift = switch (m.group(2)) {
            case "", "B" -> 0;
            case "KiB" -> 10;
            case "MiB" -> 20;
            case "GiB" -> 30;
            case "TiB" -> 40;
            default -> throw new IllegalArgumentException(
                    "\"" + trimmed + "\" has an unknown unit \"" + m.group(2) + "\"; " + EXPECTED);
        };
        long number;
        try {
            number = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + trimmed + "\" is too large; " + EXPECTED, e);
        }
        if (number > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("\"" + trimmed + "\" is too large; " + EXPECTED);
        }
        return number << shift;
    }

    /** Formats a byte count with the largest binary unit that divides it exactly, e.g. {@code 10GiB}. */
    public static String format(long bytes) {
        String[] units = {"TiB", "GiB", "MiB", "KiB"};
        int[] shifts = {40, 30, 20, 10};
        for (int i = 0; i < units.length; i++) {
            long unit = 1L << shifts[i];
            if (bytes != 0 && bytes % unit == 0) {
                return (bytes >> shifts[i]) + units[i];
            }
        }
        return bytes + "B";
    }
}
