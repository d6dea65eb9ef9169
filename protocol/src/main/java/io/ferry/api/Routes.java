package io.ferry.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The routes a daemon serves behind the bearer token, plus the text {@code GET /metrics} shows.
 * Built once with {@link #builder()} and immutable afterwards, so the server's threads share it
 * freely.
 *
 * <p>A pattern is a path whose segments are literals or {@code {name}} parameters, e.g.
 * {@code /v1/groups/{g}/promote}; a parameter matches one non-empty segment. When several
 * patterns match a path, the one with a literal in the first differing segment wins
 * ({@code /v1/groups/all} before {@code /v1/groups/{g}}). {@code /healthz} and {@code /metrics}
 * are built in and cannot be routed.
 */
public final class Routes {

    private static final Pattern PARAM_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");
    private static final Pattern LITERAL = Pattern.compile("[A-Za-z0-9._~-]+");
    private static final Set<String> RESERVED = Set.of("/healthz", "/metrics");

    private final List<Route> routes;
    private final Supplier<String> metrics;

    private Routes(List<Route> routes, Supplier<String> metrics) {
        this.routes = routes;
        this.metrics = metrics;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Routes with nothing behind the token and empty metrics. */
    public static Routes none() {
        return builder().build();
    }

    /** The Prometheus text exposition the daemon gave (empty by default). */
    Supplier<String> metrics() {
        return metrics;
    }

    /**
     * Finds the route for {@code method} and the path's decoded segments (the path split at
     * {@code /} before percent-decoding, without the leading empty segment).
     */
    Resolution resolve(String method, List<String> segments) {
        Set<String> allowed = new TreeSet<>();
        for (Route route : routes) {
            Map<String, String> params = route.match(segments);
            if (params == null) {
                continue;
            }
            if (route.method.equals(method)) {
                return new Found(route.handler, params);
            }
            allowed.add(route.method);
        }
        return allowed.isEmpty() ? NotFound.INSTANCE : new WrongMethod(allowed);
    }

    /** The outcome of {@link #resolve}. */
    interface Resolution {
    }

    record Found(ApiHandler handler, Map<String, String> params) implements Resolution {
    }

    record WrongMethod(Set<String> allowed) implements Resolution {
    }

    enum NotFound implements Resolution {
        INSTANCE
    }

    /** Collects routes; not thread-safe, use it from one thread and then {@link #build()}. */
    public static final class Builder {
        private final List<Route> routes = new ArrayList<>();
        private final Set<String> keys = new HashSet<>();
        private Supplier<String> metrics = () -> "";

        private Builder() {
        }

        public Builder get(String pattern, ApiHandler handler) {
            return route("GET", pattern, handler);
        }

        public Builder post(String pattern, ApiHandler handler) {
            return route("POST", pattern, handler);
        }

        public Builder put(String pattern, ApiHandler handler) {
            return route("PUT", pattern, handler);
        }

        public Builder delete(String pattern, ApiHandler handler) {
            return route("DELETE", pattern, handler);
        }

        /**
         * Adds a route.
         *
         * @throws IllegalArgumentException for a malformed or reserved pattern, or one that a route
         *                                  with the same method already covers
         */
        public Builder route(String method, String pattern, ApiHandler handler) {
            Objects.requireNonNull(handler, "handler");
            String upper = Objects.requireNonNull(method, "method").toUpperCase(Locale.ROOT);
            Route route = Route.parse(upper, pattern, handler);
            if (!keys.add(upper + " " + route.shape())) {
                throw new IllegalArgumentException("route " + upper + " " + pattern + " is defined twice");
            }
            routes.add(route);
            return this;
        }

        /**
         * Sets what {@code GET /metrics} serves: Prometheus text exposition format, produced on a
         * handler thread for every scrape.
         */
        public Builder metrics(Supplier<String> prometheusText) {
            this.metrics = Objects.requireNonNull(prometheusText, "prometheusText");
            return this;
        }

        public Routes build() {
            List<Route> sorted = new ArrayList<>(routes);
            sorted.sort(Route.MOST_SPECIFIC_FIRST);
            return new Routes(List.copyOf(sorted), metrics);
        }
    }

    /** One method + pattern; {@code segments[i]} is null where a parameter stands. */
    private static final class Route {
        static final Comparator<Route> MOST_SPECIFIC_FIRST = (a, b) -> {
            int common = Math.min(a.literals.length, b.literals.length);
            for (int i = 0; i < common; i++) {
                boolean aLiteral = a.literals[i] != null;
                boolean bLiteral = b.literals[i] != null;
                if (aLiteral != bLiteral) {
                    return aLiteral ? -1 : 1;
                }
            }
            return Integer.compare(a.literals.length, b.literals.length);
        };

        final String method;
        final String pattern;
        final String[] literals;
        final String[] paramNames;
        final ApiHandler handler;

        private Route(String method, String pattern, String[] literals, String[] paramNames, ApiHandler handler) {
            this.method = method;
            this.pattern = pattern;
            this.literals = literals;
            this.paramNames = paramNames;
            this.handler = handler;
        }

        static Route parse(String method, String pattern, ApiHandler handler) {
            Objects.requireNonNull(pattern, "pattern");
            if (!pattern.startsWith("/") || pattern.length() < 2 || pattern.endsWith("/")) {
                throw new IllegalArgumentException("route pattern \"" + pattern
                        + "\" must start with / and not end with one, e.g. /v1/groups/{g}/promote");
            }
            if (RESERVED.contains(pattern)) {
                throw new IllegalArgumentException(pattern + " is built into the API server and cannot be routed");
            }
            String[] parts = pattern.substring(1).split("/", -1);
            String[] literals = new String[parts.length];
            String[] names = new String[parts.length];
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < parts.length; i++) {
                String part = parts[i];
                if (part.startsWith("{") && part.endsWith("}")) {
                    String name = part.substring(1, part.length() - 1);
                    if (!PARAM_NAME.matcher(name).matches() || !seen.add(name)) {
                        throw new IllegalArgumentException("route pattern \"" + pattern + "\": parameter \"" + part
                                + "\" must be {name} with a unique Java-identifier-like name");
                    }
                    names[i] = name;
                } else if (LITERAL.matcher(part).matches()) {
                    literals[i] = part;
                } else {
                    throw new IllegalArgumentException("route pattern \"" + pattern + "\": segment \"" + part
                            + "\" must be a {name} parameter or a literal from A-Z a-z 0-9 . _ ~ -");
                }
            }
            return new Route(method, pattern, literals, names, handler);
        }

        /** The pattern with parameter names erased: two routes with the same shape collide. */
        String shape() {
            StringBuilder sb = new StringBuilder();
            for (String literal : literals) {
                sb.append('/').append(literal == null ? "{}" : literal);
            }
            return sb.toString();
        }

        /** The parameters if {@code segments} match, else null. */
        Map<String, String> match(List<String> segments) {
            if (segments.size() != literals.length) {
                return null;
            }
            Map<String, String> params = null;
            for (int i = 0; i < literals.length; i++) {
                String segment = segments.get(i);
                if (literals[i] != null) {
                    if (!literals[i].equals(segment)) {
                        return null;
                    }
                } else {
                    if (segment.isEmpty()) {
                        return null;
                    }
                    if (params == null) {
                        params = new LinkedHashMap<>();
                    }
                    params.put(paramNames[i], segment);
                }
            }
            return params == null ? new HashMap<>() : params;
        }

        @Override
        public String toString() {
            return method + " " + pattern;
        }
    }
}
