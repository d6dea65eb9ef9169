package io.ferry.config;

import java.net.InetSocketAddress;
import java.util.Objects;

/** A host (name, IPv4 or IPv6 address) and a TCP port 0..65535, written {@code 127.0.0.1:10809} or {@code [::1]:10809}. */
public record HostPort(String host, int port) {

    static final String EXPECTED = "expected HOST:PORT with a port 0..65535 (e.g. 127.0.0.1:10809 or [::1]:10809)";

    public HostPort {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("empty host; " + EXPECTED);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range; " + EXPECTED);
        }
    }

    /**
     * Parses {@code host:port}; IPv6 addresses go in brackets.
     *
     * @throws IllegalArgumentException naming the value and what is expected
     */
    public static HostPort parse(String text) {
        String trimmed = text == null ? "" : text.trim();
        String host;
        String port;
        if (trimmed.startsWith("[")) {
            int close = trimmed.indexOf(']');
            if (close < 0 || close + 1 >= trimmed.length() || trimmed.charAt(close + 1) != ':') {
                throw new IllegalArgumentException("\"" + trimmed + "\" is not an address; " + EXPECTED);
            }
            host = trimmed.substring(1, close);
            port = trimmed.substring(close + 2);
        } else {
            int colon = trimmed.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("\"" + trimmed + "\" has no port; " + EXPECTED);
            }
            host = trimmed.substring(0, colon);
            port = trimmed.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                throw new IllegalArgumentException(
                        "\"" + trimmed + "\": an IPv6 address needs brackets; " + EXPECTED);
            }
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("\"" + trimmed + "\" has no host; " + EXPECTED);
        }
        if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("\"" + trimmed + "\" has no valid port; " + EXPECTED);
        }
        int portNumber = Integer.parseInt(port);
        if (portNumber > 65535) {
            throw new IllegalArgumentException("\"" + trimmed + "\": port " + portNumber + " is out of range; " + EXPECTED);
        }
        return new HostPort(host, portNumber);
    }

    /** A socket address for binding or connecting; resolves the host name if it is not a literal address. */
    public InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    /** The same form {@link #parse} reads. */
    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
