package io.ferry.config;

import java.nio.file.Path;

/**
 * A configuration value a user got wrong. The message names the file, the key path (for
 * example {@code groups[0].volumes[1].size}), the bad value and what is expected, so it can be
 * shown to the operator as is; {@link #key()} gives the key path alone for tests and tooling.
 */
public final class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String source;
    private final String key;
    private final String detail;

    /**
     * @param source the file (or other origin) the configuration came from, used as a prefix
     * @param key the offending key path; empty for a problem with the document as a whole
     * @param line the 1-based line of the value in the source, or 0 when unknown
     * @param detail what is wrong and what is expected
     */
    public ConfigException(String source, String key, int line, String detail) {
        super(format(source, key, line, detail));
        this.source = source;
        this.key = key == null ? "" : key;
        this.detail = detail;
    }

    public ConfigException(String source, String key, int line, String detail, Throwable cause) {
        this(source, key, line, detail);
        initCause(cause);
    }

    /** A problem with a file as a whole (missing, unreadable, not YAML). */
    public static ConfigException ofFile(Path file, String detail, Throwable cause) {
        return new ConfigException(String.valueOf(file), "", 0, detail, cause);
    }

    /** The key path of the offending value, e.g. {@code groups[0].volumes[1].size}; empty when none. */
    public String key() {
        return key;
    }

    /** The file or origin of the configuration. */
    public String source() {
        return source;
    }

    /** The message without the source and key prefix. */
    public String detail() {
        return detail;
    }

    private static String format(String source, String key, int line, String detail) {
        StringBuilder sb = new StringBuilder();
        if (source != null && !source.isEmpty()) {
            sb.append(source);
            if (line > 0) {
                sb.append(':').append(line);
            }
            sb.append(": ");
        }
        if (key != null && !key.isEmpty()) {
            sb.append(key).append(": ");
        }
        return sb.append(detail).toString();
    }
}
