package io.ferry.tls;

import io.ferry.config.Names;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * The certificates of a ferry deployment (what {@code ferry cert} runs): a private CA and, signed
 * by it, one certificate per agent and receiver whose CN is its id. Keys are EC P-256; the JDK's
 * providers do the cryptography, Bouncy Castle builds, encodes and parses the certificates, so
 * no security provider is registered.
 *
 * <p>Files are PEM: {@code ca.pem}/{@code ca.key} and {@code NAME.pem}/{@code NAME.key}. Private
 * keys are unencrypted PKCS#8, created with mode 0600 (so never readable by others, not even
 * for an instant), and never logged. Existing files are never overwritten. Stateless; safe to
 * call from any thread.
 */
public final class Certificates {

    /** File name of the CA certificate in a CA directory. */
    public static final String CA_CERT = "ca.pem";
    /** File name of the CA private key in a CA directory. */
    public static final String CA_KEY = "ca.key";

    static final Duration CA_VALIDITY = Duration.ofDays(3650);
    static final Duration LEAF_VALIDITY = Duration.ofDays(730);
    /** Not-before is set this far back so that a peer whose clock is a little behind accepts a new certificate. */
    static final Duration BACKDATE = Duration.ofHours(1);

    private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final SecureRandom RANDOM = new SecureRandom();

    private Certificates() {
    }

    /** The paths of a certificate and its private key. */
    public record Issued(Path cert, Path key) {
    }

    /** Same as {@link #createCa(Path, Clock)} with the system clock. */
    public static Issued createCa(Path outDir) {
        return createCa(outDir, Clock.systemUTC());
    }

    /**
     * Creates a new CA: writes {@code outDir/ca.pem} (self-signed, valid 10 years) and
     * {@code outDir/ca.key} (mode 0600), creating {@code outDir} if needed.
     *
     * @throws TlsFileException if either file already exists (nothing is written then) or
     *     {@code outDir} is not a directory
     * @throws UncheckedIOException if writing fails
     */
    public static Issued createCa(Path outDir, Clock clock) {
        Path certFile = outDir.resolve(CA_CERT);
        Path keyFile = outDir.resolve(CA_KEY);
        prepareOutput(outDir, certFile, keyFile);

        KeyPair keyPair = newKeyPair();
        X500Name subject = commonName("ferry CA " + HexFormat.of().formatHex(randomBytes(4)));
        Instant now = clock.instant();
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, newSerial(),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(CA_VALIDITY)), subject, keyPair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            extensions.createSubjectKeyIdentifier(keyPair.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            extensions.createAuthorityKeyIdentifier(keyPair.getPublic()));
            X509Certificate ca = sign(builder, keyPair.getPrivate());
            writeFiles(certFile, ca, keyFile, keyPair.getPrivate());
        } catch (GeneralSecurityException | CertIOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot build the CA certificate: " + e.getMessage(), e);
        }
        return new Issued(certFile, keyFile);
    }

    /** Same as {@link #issue(Path, String, Path, Clock)} with the system clock. */
    public static Issued issue(Path caDir, String name, Path outDir) {
        return issue(caDir, name, outDir, Clock.systemUTC());
    }

    /**
     * Issues a certificate for the agent or receiver {@code name}, signed by the CA in
     * {@code caDir}: writes {@code outDir/NAME.pem} and {@code outDir/NAME.key} (mode 0600),
     * creating {@code outDir} if needed. The certificate has CN=NAME and the DNS SAN NAME, may
     * serve both as a TLS server and a TLS client, and is valid for 2 years (never past the CA).
     *
     * @throws IllegalArgumentException if {@code name} is not a valid name
     * @throws TlsFileException if the CA directory or its files are missing, unreadable or do
     *     not match, the CA has expired, or an output file already exists (nothing is written then)
     * @throws UncheckedIOException if writing fails
     */
    public static Issued issue(Path caDir, String name, Path outDir, Clock clock) {
        Names.check("certificate name", name);
        if (!Files.isDirectory(caDir)) {
            throw new TlsFileException(caDir, Files.exists(caDir)
                    ? "is not a directory; expected the CA directory made by 'ferry cert ca'"
                    : "CA directory does not exist; create one with 'ferry cert ca --out DIR'");
        }
        X509Certificate ca = readCertificate(caDir.resolve(CA_CERT));
        PrivateKey caKey = readPrivateKey(caDir.resolve(CA_KEY));
        requireMatchingKey(ca, caDir.resolve(CA_CERT), caKey, caDir.resolve(CA_KEY));
        Instant now = clock.instant();
        Instant caNotAfter = ca.getNotAfter().toInstant();
        if (!now.isBefore(caNotAfter)) {
            throw new TlsFileException(caDir.resolve(CA_CERT),
                    "the CA certificate expired at " + caNotAfter + "; create a new CA and reissue every certificate");
        }

        Path certFile = outDir.resolve(name + ".pem");
        Path keyFile = outDir.resolve(name + ".key");
        prepareOutput(outDir, certFile, keyFile);

        KeyPair keyPair = newKeyPair();
        Instant notAfter = now.plus(LEAF_VALIDITY);
        if (notAfter.isAfter(caNotAfter)) {
            notAfter = caNotAfter;
        }
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca, newSerial(),
                    Date.from(now.minus(BACKDATE)), Date.from(notAfter), commonName(name), keyPair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(new GeneralName(GeneralName.dNSName, name)))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            extensions.createSubjectKeyIdentifier(keyPair.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            extensions.createAuthorityKeyIdentifier(ca));
            X509Certificate leaf = sign(builder, caKey);
            writeFiles(certFile, leaf, keyFile, keyPair.getPrivate());
        } catch (GeneralSecurityException | CertIOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot build the certificate for " + name + ": " + e.getMessage(), e);
        }
        return new Issued(certFile, keyFile);
    }

    /**
     * Reads the first certificate of a PEM file.
     *
     * @throws TlsFileException naming the file if it is missing, unreadable or holds no certificate
     */
    public static X509Certificate readCertificate(Path file) {
        List<X509Certificate> chain = readCertificates(file);
        return chain.get(0);
    }

    /**
     * Reads every certificate of a PEM file (a certificate and, optionally, its chain), in order.
     *
     * @throws TlsFileException naming the file if it is missing, unreadable or holds no certificate
     */
    public static List<X509Certificate> readCertificates(Path file) {
        List<X509Certificate> certificates = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try (Reader reader = openPem(file, "certificate"); PEMParser parser = new PEMParser(reader)) {
            Object object;
            while ((object = parser.readObject()) != null) {
                if (object instanceof X509CertificateHolder holder) {
                    certificates.add(converter.getCertificate(holder));
                }
            }
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            if (e instanceof TlsFileException tls) {
                throw tls;
            }
            throw new TlsFileException(file, "is not a valid PEM certificate file: " + e.getMessage(), e);
        }
        if (certificates.isEmpty()) {
            throw new TlsFileException(file, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        return List.copyOf(certificates);
    }

    /**
     * Reads an unencrypted private key from a PEM file: PKCS#8 ({@code PRIVATE KEY}, as ferry
     * writes it) or the OpenSSL EC/RSA forms.
     *
     * @throws TlsFileException naming the file if it is missing, unreadable, encrypted or holds no key
     */
    public static PrivateKey readPrivateKey(Path file) {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (Reader reader = openPem(file, "private key"); PEMParser parser = new PEMParser(reader)) {
            Object object;
            while ((object = parser.readObject()) != null) {
                if (object instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (object instanceof PEMKeyPair pair) {
                    return converter.getKeyPair(pair).getPrivate();
                }
                if (object instanceof PKCS8EncryptedPrivateKeyInfo || object instanceof PEMEncryptedKeyPair) {
                    throw new TlsFileException(file, "holds an encrypted private key; ferry needs it unencrypted"
                            + " (protect it with file mode 0600 instead)");
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof TlsFileException tls) {
                throw tls;
            }
            // the message of a key parse error cannot carry key material: BC reports structure, not content
            throw new TlsFileException(file, "is not a valid PEM private key file: " + e.getMessage(), e);
        }
        throw new TlsFileException(file, "holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
    }

    /**
     * Checks that {@code key} is the private key of {@code certificate} by signing and verifying a challenge.
     *
     * @throws TlsFileException naming both files if they do not belong together
     */
    static void requireMatchingKey(X509Certificate certificate, Path certFile, PrivateKey key, Path keyFile) {
        PublicKey publicKey = certificate.getPublicKey();
        boolean matches;
        try {
            String algorithm = publicKey.getAlgorithm().equals("EC") ? SIGNATURE_ALGORITHM : "SHA256with"
                    + publicKey.getAlgorithm();
            byte[] challenge = randomBytes(32);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(challenge);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false;
        }
        if (!matches) {
            throw new TlsFileException(keyFile, "is not the private key of the certificate " + certFile);
        }
    }

    private static Reader openPem(Path file, String what) {
        try {
            return Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new TlsFileException(file, what + " file does not exist", e);
        } catch (AccessDeniedException e) {
            throw new TlsFileException(file, what + " file is not readable (permission denied)", e);
        } catch (IOException e) {
            throw new TlsFileException(file, "cannot read " + what + " file: " + e, e);
        }
    }

    /** Creates {@code outDir} if needed and refuses to go on if any target exists, before anything is written. */
    private static void prepareOutput(Path outDir, Path... targets) {
        if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
            throw new TlsFileException(outDir, "output path exists and is not a directory");
        }
        for (Path target : targets) {
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new TlsFileException(target, "already exists; ferry never overwrites certificates or keys"
                        + " (move it away or choose another --out directory)");
            }
        }
        try {
            Files.createDirectories(outDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create output directory " + outDir + ": " + e, e);
        }
    }

    /** Writes the key (0600 from creation) and the certificate; on failure removes whatever this call created. */
    private static void writeFiles(Path certFile, X509Certificate certificate, Path keyFile, PrivateKey key)
            throws GeneralSecurityException {
        byte[] keyPem = pem("PRIVATE KEY", key.getEncoded());
        byte[] certPem = pem("CERTIFICATE", certificate.getEncoded());
        List<Path> created = new ArrayList<>(2);
        try {
            createNew(keyFile, keyPem, true);
            created.add(keyFile);
            createNew(certFile, certPem, false);
            created.add(certFile);
        } catch (IOException e) {
            for (Path path : created) {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (e instanceof FileAlreadyExistsException exists) {
                throw new TlsFileException(Path.of(exists.getFile()), "already exists; ferry never overwrites"
                        + " certificates or keys (move it away or choose another --out directory)", e);
            }
            throw new UncheckedIOException("cannot write " + (created.isEmpty() ? keyFile : certFile) + ": " + e, e);
        }
    }

    private static void createNew(Path file, byte[] content, boolean secret) throws IOException {
        Set<StandardOpenOption> options = EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try (SeekableByteChannel channel = secret
                ? Files.newByteChannel(file, options, OWNER_ONLY)
                : Files.newByteChannel(file, options)) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        }
    }

    private static byte[] pem(String type, byte[] der) {
        StringWriter out = new StringWriter();
        try (PemWriter writer = new PemWriter(out)) {
            writer.writeObject(new PemObject(type, der));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signingKey)
            throws OperatorCreationException, GeneralSecurityException {
        ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(signingKey);
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM cannot generate EC P-256 keys: " + e.getMessage(), e);
        }
    }

    private static X500Name commonName(String cn) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, cn).build();
    }

    /** A positive 127-bit serial: unique in practice, within the 20 octets RFC 5280 allows. */
    private static BigInteger newSerial() {
        return new BigInteger(127, RANDOM).setBit(126);
    }

    private static byte[] randomBytes(int length) {
        byte[] bytes = new byte[length];
        RANDOM.nextBytes(bytes);
        return bytes;
    }
}
