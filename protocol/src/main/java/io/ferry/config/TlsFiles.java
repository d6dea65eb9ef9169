package io.ferry.config;

import java.nio.file.Path;
import java.util.Objects;

/** The PEM files of one side's TLS identity: the CA certificate to trust, its own certificate and private key. */
public record TlsFiles(Path ca, Path cert, Path key) {

    public TlsFiles {
        Objects.requireNonNull(ca, "ca");
        Objects.requireNonNull(cert, "cert");
        Objects.requireNonNull(key, "key");
    }
}
