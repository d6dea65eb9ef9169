package io.ferry.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.Locale;

/**
 * The TLS implementation behind an {@link io.netty.handler.ssl.SslContext}: BoringSSL through
 * netty-tcnative ({@link #OPENSSL}) or the JDK's SSLEngine ({@link #JDK}).
 */
public enum TlsProvider {
    OPENSSL(SslProvider.OPENSSL),
    JDK(SslProvider.JDK);

    /** System property that forces a provider: {@code openssl} or {@code jdk}. */
    public static final String PROPERTY = "ferry.tls.provider";

    private final SslProvider netty;

    TlsProvider(SslProvider netty) {
        this.netty = netty;
    }

    /**
     * The provider named by the {@value #PROPERTY} system property if it is set, else OpenSSL
     * when netty-tcnative loads on this platform, else the JDK's.
     *
     * @throws IllegalArgumentException if the property names no provider
     * @throws IllegalStateException if the property asks for OpenSSL and it does not load
     */
    public static TlsProvider select() {
        String forced = System.getProperty(PROPERTY);
        if (forced == null || forced.isBlank()) {
            return OpenSsl.isAvailable() ? OPENSSL : JDK;
        }
        return parse(forced).requireAvailable();
    }

    /** Parses {@code openssl} or {@code jdk} (any case). */
    public static TlsProvider parse(String name) {
        for (TlsProvider provider : values()) {
            if (provider.displayName().equalsIgnoreCase(name.trim())) {
                return provider;
            }
        }
        throw new IllegalArgumentException(
                "TLS provider \"" + name + "\" (system property " + PROPERTY + ") is unknown; expected openssl or jdk");
    }

    /** Whether this provider can be used in this JVM (the JDK's always can). */
    public boolean isAvailable() {
        return this == JDK || OpenSsl.isAvailable();
    }

    /**
     * Returns this provider if it can be used.
     *
     * @throws IllegalStateException naming why netty-tcnative did not load
     */
    public TlsProvider requireAvailable() {
        if (!isAvailable()) {
            throw new IllegalStateException("TLS provider openssl is not available on this platform ("
                    + OpenSsl.unavailabilityCause() + "); use -D" + PROPERTY + "=jdk", OpenSsl.unavailabilityCause());
        }
        return this;
    }

    /** {@code openssl} or {@code jdk}, as accepted by {@link #parse}. */
    public String displayName() {
        return name().toLowerCase(Locale.ROOT);
    }

    SslProvider nettyProvider() {
        return netty;
    }
}
