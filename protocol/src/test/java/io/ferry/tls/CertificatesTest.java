package io.ferry.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.cert.X509CertificateHolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificatesTest {

    private static final Instant NOW = Instant.parse("2026-11-28T09:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

    @TempDir
    Path dir;

    @Test
    void shouldIssueLeafThatChainsToCaWithCnSanAndBothUsages() throws Exception {
        Path caDir = dir.resolve("ca");
        Certificates.Issued ca = Certificates.createCa(caDir, CLOCK);
        Certificates.Issued leaf = Certificates.issue(caDir, "host-a", dir.resolve("certs"), CLOCK);

        assertThat(ca.cert()).isEqualTo(caDir.resolve("ca.pem"));
        assertThat(ca.key()).isEqualTo(caDir.resolve("ca.key"));
        assertThat(leaf.cert()).isEqualTo(dir.resolve("certs/host-a.pem"));
        assertThat(leaf.key()).isEqualTo(dir.resolve("certs/host-a.key"));

        X509Certificate caCert = parseWithJdk(ca.cert());
        X509Certificate leafCert = parseWithJdk(leaf.cert());

        assertThat(leafCert.getVersion()).isEqualTo(3);
        assertThat(leafCert.getSubjectX500Principal().getName()).isEqualTo("CN=host-a");
        assertThat(leafCert.getIssuerX500Principal()).isEqualTo(caCert.getSubjectX500Principal());
        assertThat(leafCert.getSubjectAlternativeNames())
                .containsExactly(List.of(GeneralName.dNSName, "host-a"));
        assertThat(leafCert.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
        assertThat(leafCert.getBasicConstraints()).isEqualTo(-1);
        assertThat(leafCert.getKeyUsage()[0]).as("digitalSignature").isTrue();
        assertThat(leafCert.getKeyUsage()[5]).as("keyCertSign").isFalse();
        assertThat(((ECPublicKey) leafCert.getPublicKey()).getParams().getCurve().getField().getFieldSize())
                .isEqualTo(256);
        assertThat(leafCert.getNotBefore().toInstant()).isBefore(NOW);
        assertThat(leafCert.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(730)));

        assertThat(caCert.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(caCert.getKeyUsage()[5]).as("keyCertSign").isTrue();
        assertThat(caCert.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(3650)));

        X509CertificateHolder leafHolder = new X509CertificateHolder(leafCert.getEncoded());
        X509CertificateHolder caHolder = new X509CertificateHolder(caCert.getEncoded());
        byte[] caSki = caHolder.getExtension(Extension.subjectKeyIdentifier).getParsedValue().toASN1Primitive()
                .getEncoded();
        assertThat(leafHolder.getExtension(Extension.subjectKeyIdentifier)).isNotNull();
        assertThat(org.bouncycastle.asn1.x509.AuthorityKeyIdentifier.fromExtensions(leafHolder.getExtensions())
                .getKeyIdentifierObject().getEncoded()).isEqualTo(caSki);

        PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(caCert, null)));
        parameters.setRevocationEnabled(false);
        parameters.setDate(Date.from(NOW));
        CertPathValidator.getInstance("PKIX").validate(
                CertificateFactory.getInstance("X.509").generateCertPath(List.of(leafCert)), parameters);
    }

    @Test
    void shouldWriteKeysAsPkcs8WithOwnerOnlyMode() throws IOException {
        Path caDir = dir.resolve("ca");
        Certificates.createCa(caDir, CLOCK);
        Certificates.Issued leaf = Certificates.issue(caDir, "dr-1", caDir, CLOCK);

        for (Path key : List.of(caDir.resolve("ca.key"), leaf.key())) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
            assertThat(Files.readString(key, StandardCharsets.US_ASCII)).startsWith("-----BEGIN PRIVATE KEY-----");
        }
        assertThat(Certificates.readPrivateKey(leaf.key()).getAlgorithm()).isEqualTo("EC");
    }

    @Test
    void shouldRefuseToOverwriteAnExistingCaAndLeaveItIntact() throws IOException {
        Certificates.createCa(dir, CLOCK);
        byte[] before = Files.readAllBytes(dir.resolve("ca.pem"));

        assertThatThrownBy(() -> Certificates.createCa(dir, CLOCK))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(dir.resolve("ca.pem").toString())
                .hasMessageContaining("already exists");
        assertThat(Files.readAllBytes(dir.resolve("ca.pem"))).isEqualTo(before);
    }

    @Test
    void shouldRefuseToOverwriteAnExistingKeyWithoutWritingTheCertificate() throws IOException {
        Certificates.createCa(dir.resolve("ca"), CLOCK);
        Files.createDirectories(dir.resolve("out"));
        Files.writeString(dir.resolve("out/host-a.key"), "precious");

        assertThatThrownBy(() -> Certificates.issue(dir.resolve("ca"), "host-a", dir.resolve("out"), CLOCK))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining("host-a.key")
                .hasMessageContaining("already exists");
        assertThat(dir.resolve("out/host-a.pem")).doesNotExist();
        assertThat(Files.readString(dir.resolve("out/host-a.key"))).isEqualTo("precious");
    }

    @Test
    void shouldRejectNamesThatAreNotSafePathComponents() {
        Certificates.createCa(dir, CLOCK);
        for (String bad : List.of("", "..", "a/b", "host a", "x".repeat(65), "é")) {
            assertThatThrownBy(() -> Certificates.issue(dir, bad, dir.resolve("out"), CLOCK))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not a valid name");
        }
        assertThat(dir.resolve("out")).doesNotExist();
    }

    @Test
    void shouldNameTheMissingCaDirectory() {
        Path missing = dir.resolve("no-such-ca");
        assertThatThrownBy(() -> Certificates.issue(missing, "host-a", dir, CLOCK))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("does not exist");
    }

    @Test
    void shouldNameTheMissingCaKey() throws IOException {
        Certificates.createCa(dir.resolve("ca"), CLOCK);
        Files.delete(dir.resolve("ca/ca.key"));

        assertThatThrownBy(() -> Certificates.issue(dir.resolve("ca"), "host-a", dir, CLOCK))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(dir.resolve("ca/ca.key").toString())
                .hasMessageContaining("does not exist");
    }

    @Test
    void shouldRefuseACaKeyThatDoesNotBelongToTheCaCertificate() throws IOException {
        Certificates.createCa(dir.resolve("ca"), CLOCK);
        Certificates.createCa(dir.resolve("other"), CLOCK);
        Files.delete(dir.resolve("ca/ca.key"));
        Files.copy(dir.resolve("other/ca.key"), dir.resolve("ca/ca.key"));

        assertThatThrownBy(() -> Certificates.issue(dir.resolve("ca"), "host-a", dir, CLOCK))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(dir.resolve("ca/ca.key").toString())
                .hasMessageContaining("is not the private key of the certificate");
    }

    @Test
    void shouldNameACertificateFileThatIsNotPem() throws IOException {
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a certificate\n");
        assertThatThrownBy(() -> Certificates.readCertificate(garbage))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(garbage.toString());
        assertThatThrownBy(() -> Certificates.readPrivateKey(garbage))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining(garbage.toString());
    }

    @Test
    void shouldNotIssueLeavesThatOutliveTheCa() {
        Certificates.createCa(dir.resolve("ca"), CLOCK);
        Instant nineYearsLater = NOW.plus(Duration.ofDays(9 * 365));
        Certificates.Issued leaf = Certificates.issue(dir.resolve("ca"), "late", dir,
                Clock.fixed(nineYearsLater, ZoneOffset.UTC));

        assertThat(Certificates.readCertificate(leaf.cert()).getNotAfter())
                .isEqualTo(Certificates.readCertificate(dir.resolve("ca/ca.pem")).getNotAfter());
    }

    @Test
    void shouldRefuseToIssueFromAnExpiredCa() {
        Certificates.createCa(dir.resolve("ca"), CLOCK);
        Clock elevenYearsLater = Clock.fixed(NOW.plus(Duration.ofDays(11 * 365)), ZoneOffset.UTC);

        assertThatThrownBy(() -> Certificates.issue(dir.resolve("ca"), "host-a", dir, elevenYearsLater))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining("expired");
    }

    private static X509Certificate parseWithJdk(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }
}
