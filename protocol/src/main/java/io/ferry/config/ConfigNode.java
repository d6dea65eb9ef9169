package io.ferry.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * One node of a YAML configuration document (a mapping, a list or a single value) that knows
 * its key path ({@code groups[0].volumes[1].size}), its line and its source file, so every
 * accessor can fail with a {@link ConfigException} that tells the operator exactly what to fix.
 * Duplicate keys, YAML aliases and multiple documents are refused while reading.
 *
 * <p>Immutable once read; config classes walk it once on the thread that loads the config.
 */
public final class ConfigNode {

    private enum Kind { MAPPING, LIST, VALUE, NULL }

    private static final YAMLFactory YAML = new YAMLFactory();

    private final String source;
    private final String path;
    private final int line;
    private final Kind kind;
    private final String text;
    private final Map<String, ConfigNode> fields;
    private final List<ConfigNode> items;

    private ConfigNode(String source, String path, int line, Kind kind, String text,
                       Map<String, ConfigNode> fields, List<ConfigNode> items) {
        this.source = source;
        this.path = path;
        this.line = line;
        this.kind = kind;
        this.text = text;
        this.fields = fields;
        this.items = items;
    }

    /**
     * Reads a configuration file and parses it like {@link #parse}, with the file as the source
     * every error names.
     *
     * @throws ConfigException for a missing or unreadable file, text that is not UTF-8 or not YAML
     */
    public static ConfigNode load(Path yamlFile) {
        String text;
        try {
            text = Files.readString(yamlFile);
        } catch (NoSuchFileException e) {
            throw ConfigException.ofFile(yamlFile, "no such file", e);
        } catch (CharacterCodingException e) {
            throw ConfigException.ofFile(yamlFile, "not UTF-8 text", e);
        } catch (IOException e) {
            throw ConfigException.ofFile(yamlFile, "cannot read: " + e, e);
        }
        return parse(text, yamlFile.toString());
    }

    /**
     * Reads a YAML document whose top level must be a mapping.
     *
     * @param source names the origin in messages (usually the file path)
     * @throws ConfigException if the text is not YAML, not a mapping, has duplicate keys or aliases
     */
    public static ConfigNode parse(String yaml, String source) {
        try (JsonParser parser = YAML.createParser(yaml)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                throw new ConfigException(source, "", 0, "the file is empty; expected a YAML mapping of settings");
            }
            ConfigNode root = read(parser, source, "");
            if (root.kind != Kind.MAPPING) {
                throw new ConfigException(source, "", root.line,
                        "the document is " + root.describe() + "; expected a YAML mapping of settings (key: value lines)");
            }
            if (parser.nextToken() != null) {
                throw new ConfigException(source, "", lineOf(parser.currentTokenLocation()),
                        "more than one YAML document; expected exactly one");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, "", lineOf(e.getLocation()),
                    "not valid YAML: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(source, "", 0, "cannot read YAML: " + e.getMessage(), e);
        }
    }

    private static ConfigNode read(JsonParser parser, String source, String path) throws IOException {
        int line = lineOf(parser.currentTokenLocation());
        if (parser instanceof YAMLParser yamlParser && yamlParser.isCurrentAlias()) {
            throw new ConfigException(source, path, line,
                    "YAML aliases (*" + parser.getText() + ") are not supported; write the value out");
        }
        JsonToken token = parser.currentToken();
        switch (token) {
            case START_OBJECT: {
                Map<String, ConfigNode> fields = new LinkedHashMap<>();
                Map<String, Integer> lines = new LinkedHashMap<>();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String key = parser.currentName();
                    int keyLine = lineOf(parser.currentTokenLocation());
                    String childPath = path.isEmpty() ? key : path + "." + key;
                    if (fields.containsKey(key)) {
                        throw new ConfigException(source, childPath, keyLine,
                                "duplicate key \"" + key + "\" (first at line " + lines.get(key)
                                        + "); each key may appear once");
                    }
                    parser.nextToken();
                    fields.put(key, read(parser, source, childPath));
                    lines.put(key, keyLine);
                }
                return new ConfigNode(source, path, line, Kind.MAPPING, null,
                        Collections.unmodifiableMap(fields), List.of());
            }
            case START_ARRAY: {
                List<ConfigNode> items = new ArrayList<>();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    items.add(read(parser, source, path + "[" + items.size() + "]"));
                }
                return new ConfigNode(source, path, line, Kind.LIST, null, Map.of(), List.copyOf(items));
            }
            case VALUE_NULL:
                return new ConfigNode(source, path, line, Kind.NULL, null, Map.of(), List.of());
            default:
                if (!token.isScalarValue()) {
                    throw new ConfigException(source, path, line, "unexpected YAML token " + token);
                }
                return new ConfigNode(source, path, line, Kind.VALUE, parser.getText(), Map.of(), List.of());
        }
    }

    private static int lineOf(JsonLocation location) {
        return location == null ? 0 : Math.max(0, location.getLineNr());
    }

    /** The key path of this node, e.g. {@code groups[0].volumes[1]}; empty for the document. */
    public String path() {
        return path;
    }

    public String source() {
        return source;
    }

    /** The 1-based line of this node in the source, 0 when unknown. */
    public int line() {
        return line;
    }

    /** Whether {@code key} is present with a non-null value. */
    public boolean has(String key) {
        ConfigNode child = fields.get(key);
        return child != null && child.kind != Kind.NULL;
    }

    /** The keys present in this mapping, in document order. */
    public List<String> keys() {
        return List.copyOf(fields.keySet());
    }

    /** Fails on any key of this mapping not in {@code allowed}, naming it and the keys that are allowed. */
    public void rejectUnknownKeys(String... allowed) {
        List<String> allowedKeys = Arrays.asList(allowed);
        for (Map.Entry<String, ConfigNode> e : fields.entrySet()) {
            String key = e.getKey();
            if (!allowedKeys.contains(key)) {
                String hint = "";
                for (String candidate : allowed) {
                    if (candidate.equalsIgnoreCase(key)) {
                        hint = " (did you mean \"" + candidate + "\"?)";
                    }
                }
                throw new ConfigException(source, e.getValue().path, e.getValue().line,
                        "unknown key \"" + key + "\"" + hint + "; expected one of: " + String.join(", ", allowed));
            }
        }
    }

    /** The mapping under {@code key}; fails if it is missing or not a mapping. */
    public ConfigNode requireChild(String key) {
        return optionalChild(key).orElseThrow(() -> missing(key, "a mapping"));
    }

    /** The mapping under {@code key}, empty if the key is missing or null; fails if it is not a mapping. */
    public Optional<ConfigNode> optionalChild(String key) {
        return present(key).map(child -> child.expect(Kind.MAPPING, "a mapping (key: value lines)"));
    }

    /** The list under {@code key}; fails if it is missing or not a list. May be empty. */
    public List<ConfigNode> list(String key) {
        return optionalList(key).orElseThrow(() -> missing(key, "a list"));
    }

    /** The list under {@code key}, empty if the key is missing or null; fails if it is not a list. */
    public Optional<List<ConfigNode>> optionalList(String key) {
        return present(key).map(child -> child.expect(Kind.LIST, "a list").items);
    }

    /** The single value under {@code key} as text; fails if it is missing or not a single value. */
    public String requireString(String key) {
        return optionalString(key).orElseThrow(() -> missing(key, "a value"));
    }

    public Optional<String> optionalString(String key) {
        return present(key).map(ConfigNode::asString);
    }

    /** This node's single value as text; fails if it is a mapping or a list. */
    public String asString() {
        return expect(Kind.VALUE, "a single value").text;
    }

    /** A name ({@link Names}) under {@code key}. */
    public String requireName(String key) {
        return requireValue(key, "a name", v -> Names.check("name", v));
    }

    /** This node's value as a name ({@link Names}). */
    public String asName() {
        return convert(asString(), v -> Names.check("name", v));
    }

    /** A byte size ({@link Sizes}) under {@code key}. */
    public long requireBytes(String key) {
        return requireValue(key, "a size", Sizes::parseBytes);
    }

    public long optionalBytes(String key, long defaultBytes) {
        return optionalValue(key, Sizes::parseBytes).orElse(defaultBytes);
    }

    /** A duration ({@link Durations}) under {@code key}. */
    public Duration requireDuration(String key) {
        return requireValue(key, "a duration", Durations::parse);
    }

    public Duration optionalDuration(String key, Duration defaultDuration) {
        return optionalValue(key, Durations::parse).orElse(defaultDuration);
    }

    /** A {@code HOST:PORT} address under {@code key}. */
    public HostPort requireHostPort(String key) {
        return requireValue(key, "HOST:PORT", HostPort::parse);
    }

    public Optional<HostPort> optionalHostPort(String key) {
        return optionalValue(key, HostPort::parse);
    }

    /** A path under {@code key}, resolved against {@code baseDir} when relative, and normalized. */
    public Path requirePath(String key, Path baseDir) {
        return requireValue(key, "a path", v -> resolvePath(v, baseDir));
    }

    public Optional<Path> optionalPath(String key, Path baseDir) {
        return optionalValue(key, v -> resolvePath(v, baseDir));
    }

    /** A {@link ConfigException} for the value under {@code key} (or for this node if the key is absent). */
    public ConfigException error(String key, String detail) {
        ConfigNode child = fields.get(key);
        if (child != null) {
            return child.error(detail);
        }
        return new ConfigException(source, childPath(key), line, detail);
    }

    /** A {@link ConfigException} for this node. */
    public ConfigException error(String detail) {
        return new ConfigException(source, path, line, detail);
    }

    private static Path resolvePath(String value, Path baseDir) {
        if (value.isBlank()) {
            throw new IllegalArgumentException("the path is empty; expected a file system path");
        }
        try {
            return baseDir.toAbsolutePath().resolve(value).normalize();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("\"" + value + "\" is not a valid path: " + e.getReason(), e);
        }
    }

    private <T> T requireValue(String key, String expected, Function<String, T> parse) {
        return optionalValue(key, parse).orElseThrow(() -> missing(key, expected));
    }

    private <T> Optional<T> optionalValue(String key, Function<String, T> parse) {
        return present(key).map(child -> child.convert(child.asString(), parse));
    }

    private <T> T convert(String value, Function<String, T> parse) {
        try {
            return parse.apply(value);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source, path, line, e.getMessage(), e);
        }
    }

    private Optional<ConfigNode> present(String key) {
        expect(Kind.MAPPING, "a mapping (key: value lines)");
        ConfigNode child = fields.get(key);
        return child == null || child.kind == Kind.NULL ? Optional.empty() : Optional.of(child);
    }

    private ConfigNode expect(Kind expected, String what) {
        if (kind != expected) {
            throw new ConfigException(source, path, line, "found " + describe() + "; expected " + what);
        }
        return this;
    }

    private ConfigException missing(String key, String expected) {
        String detail = fields.containsKey(key)
                ? "has no value; expected " + expected
                : "is required (" + expected + ") but missing";
        return error(key, detail);
    }

    private String childPath(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private String describe() {
        return switch (kind) {
            case MAPPING -> "a mapping";
            case LIST -> "a list";
            case NULL -> "no value";
            case VALUE -> "the value \"" + text + "\"";
        };
    }

    @Override
    public String toString() {
        return source + ":" + line + " " + (path.isEmpty() ? "<document>" : path);
    }
}
