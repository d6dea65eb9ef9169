package io.ferry.tls;

import io.ferry.config.TlsFiles;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Netty {@link SslContext}s for the replication link: TLS 1.3 only, mutual authentication
 * (the server requires a client certificate), and only certificates issued by the configured
 * CA are trusted on either side. Identities are certificate CNs, not host names, so the client
 * does no host name verification; the receiver checks the agent's CN itself with
 * {@link #peerCommonName(SSLSession)} once the handshake is done.
 *
 * <p>The provider is BoringSSL (netty-tcnative) when it loads, the JDK's otherwise, unless
 * forced with {@code -Dferry.tls.provider=openssl|jdk} or a {@link TlsProvider} argument.
 * Contexts are immutable and shared by every connection of a daemon; build them once at start.
 */
public final class TlsContexts {

    private static final Logger LOG = LoggerFactory.getLogger(TlsContexts.class);
    private static final String TLS_1_3 = "TLSv1.3";
    private static final AtomicBoolean PROVIDER_LOGGED = new AtomicBoolean();

    private TlsContexts() {
    }

    /** The server side with the default provider ({@link TlsProvider#select()}). */
    public static SslContext server(TlsFiles files) {
        return server(files, TlsProvider.select());
    }

    /**
     * The server side (receiver): presents {@code files.cert()}, requires a client certificate
     * that chains to {@code files.ca()}.
     *
     * @throws TlsFileException naming the file if a certificate or key is missing, malformed or
     *     the key does not belong to the certificate
     * @throws IllegalStateException if the provider is not available or refuses the material
     */
    public static SslContext server(TlsFiles files, TlsProvider provider) {
        Material material = Material.load(files);
        SslContextBuilder builder = SslContextBuilder.forServer(material.key, material.chain)
                .clientAuth(ClientAuth.REQUIRE);
        return build(builder, material, provider, "server");
    }

    /** The client side with the default provider ({@link TlsProvider#select()}). */
    public static SslContext client(TlsFiles files) {
        return client(files, TlsProvider.select());
    }

    /**
     * The client side (agent): presents {@code files.cert()}, accepts only a server
     * certificate that chains to {@code files.ca()}; no host name check.
     *
     * @throws TlsFileException naming the file if a certificate or key is missing, malformed or
     *     the key does not belong to the certificate
     * @throws IllegalStateException if the provider is not available or refuses the material
     */
    public static SslContext client(TlsFiles files, TlsProvider provider) {
        Material material = Material.load(files);
        SslContextBuilder builder = SslContextBuilder.forClient()
                .keyManager(material.key, material.chain)
                // Netty 4.2 verifies host names by default; ferry's identities are CNs, checked by the receiver
                .endpointIdentificationAlgorithm(null);
        return build(builder, material, provider, "client");
    }

    /** Name ({@code openssl} or {@code jdk}) of the provider {@link #server(TlsFiles)} and {@link #client(TlsFiles)} use. */
    public static String providerName() {
        return TlsProvider.select().displayName();
    }

    /**
     * The CN of the peer's (already verified) certificate, e.g. the agent id on the receiver.
     *
     * @throws SSLPeerUnverifiedException if the peer presented no certificate, or one without
     *     exactly one CN
     */
    public static String peerCommonName(SSLSession session) throws SSLPeerUnverifiedException {
        Certificate[] peer = session.getPeerCertificates();
        if (peer.length == 0 || !(peer[0] instanceof X509Certificate certificate)) {
            throw new SSLPeerUnverifiedException("peer presented no X.509 certificate");
        }
        RDN[] cns = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN);
        if (cns.length != 1 || cns[0].isMultiValued()) {
            throw new SSLPeerUnverifiedException("peer certificate subject \""
                    + certificate.getSubjectX500Principal().getName() + "\" does not have exactly one CN");
        }
        return IETFUtils.valueToString(cns[0].getFirst().getValue());
    }

    private static SslContext build(SslContextBuilder builder, Material material, TlsProvider provider, String side) {
        provider.requireAvailable();
        builder.sslProvider(provider.nettyProvider())
                .protocols(TLS_1_3)
                .trustManager(material.ca);
        SslContext context;
        try {
            context = builder.build();
        } catch (SSLException | RuntimeException e) {
            throw new IllegalStateException("cannot set up TLS " + side + " with provider " + provider.displayName()
                    + " from " + material.files + ": " + e.getMessage(), e);
        }
        if (PROVIDER_LOGGED.compareAndSet(false, true)) {
            LOG.info("TLS 1.3 provider: {}", provider == TlsProvider.OPENSSL
                    ? "openssl (" + OpenSsl.versionString() + " via netty-tcnative)"
                    : "jdk (" + System.getProperty("java.vendor") + " " + Runtime.version() + ")");
        }
        return context;
    }

    /** The parsed, cross-checked contents of a {@link TlsFiles}. */
    private record Material(TlsFiles files, X509Certificate ca, PrivateKey key, X509Certificate[] chain) {

        static Material load(TlsFiles files) {
            X509Certificate ca = Certificates.readCertificate(files.ca());
            if (ca.getBasicConstraints() < 0) {
                throw new TlsFileException(files.ca(), "is not a CA certificate (BasicConstraints CA:false)");
            }
            List<X509Certificate> chain = Certificates.readCertificates(files.cert());
            PrivateKey key = Certificates.readPrivateKey(files.key());
            Certificates.requireMatchingKey(chain.get(0), files.cert(), key, files.key());
            X509Certificate top = chain.get(chain.size() - 1);
            if (!top.equals(ca) && !isSignedBy(top, ca)) {
                throw new TlsFileException(files.cert(), "is not issued by the CA in " + files.ca()
                        + "; the peer would refuse it (issue it with 'ferry cert issue --ca' from that CA)");
            }
            return new Material(files, ca, key, chain.toArray(new X509Certificate[0]));
        }

        private static boolean isSignedBy(X509Certificate certificate, X509Certificate issuer) {
            try {
                certificate.verify(issuer.getPublicKey());
                return true;
            } catch (GeneralSecurityException e) {
                return false;
            }
        }
    }
}
