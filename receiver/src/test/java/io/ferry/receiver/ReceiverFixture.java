package io.ferry.receiver;

import io.ferry.config.TlsFiles;
import io.ferry.tls.Certificates;
import java.nio.file.Path;

/** What the receiver's in-process daemon tests share: certificates for dr-1 and host-a, and a receiver.yaml. */
final class ReceiverFixture {

    private ReceiverFixture() {
    }

    /** A CA in {@code certs/ca} and certificates for dr-1 and host-a in {@code certs/issued}; returns host-a's. */
    static TlsFiles issueCertificates(Path certs) {
        Path ca = certs.resolve("ca");
        Certificates.createCa(ca);
        Certificates.issue(ca, "dr-1", certs.resolve("issued"));
        Certificates.issue(ca, "host-a", certs.resolve("issued"));
        return new TlsFiles(certs.resolve("ca/ca.pem"), certs.resolve("issued/host-a.pem"),
                certs.resolve("issued/host-a.key"));
    }

    /** receiver.yaml for dr-1 on loopback port 0 (replication, NBD, API), host-a owning group db. */
    static String receiverYaml(Path dataDir, Path certs) {
        return String.join("\n",
                "id: dr-1",
                "dataDir: " + dataDir,
                "listen: 127.0.0.1:0",
                "nbd: { listen: 127.0.0.1:0 }",
                "api: { listen: 127.0.0.1:0 }",
                "tls: { ca: " + certs.resolve("ca/ca.pem") + ", cert: " + certs.resolve("issued/dr-1.pem")
                        + ", key: " + certs.resolve("issued/dr-1.key") + " }",
                "agents:",
                "  - id: host-a",
                "    groups: [db]",
                "");
    }
}
