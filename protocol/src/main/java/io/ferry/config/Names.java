package io.ferry.config;

import java.util.regex.Pattern;

/**
 * Names of agents, receivers, groups and volumes: {@code [A-Za-z0-9._-]{1,64}}, and neither
 * {@code .} nor {@code ..}. They become path components and NBD export names, so anything
 * else is refused before it is used.
 */
public final class Names {

    static final String EXPECTED =
            "expected 1 to 64 characters from A-Z a-z 0-9 . _ - (and not \".\" or \"..\")";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private Names() {
    }

    public static boolean isValid(String value) {
        return value != null && NAME.matcher(value).matches() && !value.equals(".") && !value.equals("..");
    }

    /**
     * Returns {@code value} if it is a valid name.
     *
     * @param what what the name is, for the message (e.g. {@code group} or a key path)
     * @throws IllegalArgumentException naming {@code what}, the value and the rule
     */
    public static String check(String what, String value) {
        if (!isValid(value)) {
            throw new IllegalArgumentException(what + " \"" + value + "\" is not a valid name; " + EXPECTED);
        }
        return value;
    }
}
