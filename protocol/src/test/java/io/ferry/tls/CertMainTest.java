package io.ferry.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertMainTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @Test
    void shouldCreateCaThenIssueAndExitZero() {
        assertThat(run("ca", "--out", dir.resolve("ca").toString())).isZero();
        assertThat(run("issue", "--ca", dir.resolve("ca").toString(), "--name", "host-a",
                "--out", dir.resolve("certs").toString())).isZero();

        assertThat(dir.resolve("ca/ca.pem")).exists();
        assertThat(dir.resolve("ca/ca.key")).exists();
        assertThat(dir.resolve("certs/host-a.pem")).exists();
        assertThat(dir.resolve("certs/host-a.key")).exists();
        assertThat(stdout()).contains("host-a.pem");
    }

    @Test
    void shouldExitTwoNamingTheBadName() {
        run("ca", "--out", dir.toString());
        assertThat(run("issue", "--ca", dir.toString(), "--name", "../evil", "--out", dir.toString())).isEqualTo(2);
        assertThat(stderr()).contains("\"../evil\"").contains("not a valid name");
    }

    @Test
    void shouldExitTwoNamingTheMissingCaDirectory() {
        Path missing = dir.resolve("nowhere");
        assertThat(run("issue", "--ca", missing.toString(), "--name", "a", "--out", dir.toString())).isEqualTo(2);
        assertThat(stderr()).contains(missing.toString()).contains("does not exist");
    }

    @Test
    void shouldExitTwoRatherThanOverwrite() {
        assertThat(run("ca", "--out", dir.toString())).isZero();
        assertThat(run("ca", "--out", dir.toString())).isEqualTo(2);
        assertThat(stderr()).contains("ca.pem").contains("already exists");
    }

    @Test
    void shouldExitTwoOnBadUsage() {
        assertThat(run()).isEqualTo(2);
        assertThat(stderr()).contains("missing subcommand");
        assertThat(run("issue", "--ca", dir.toString())).isEqualTo(2);
        assertThat(stderr()).contains("--name").contains("--out");
        assertThat(run("renew")).isEqualTo(2);
    }

    @Test
    void shouldExitOneWhenTheOutputDirectoryCannotBeCreated() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        assertThat(run("ca", "--out", file.resolve("sub").toString())).isEqualTo(1);
        assertThat(stderr()).contains("failed").contains("cannot create output directory");
    }

    @Test
    void shouldPrintHelpAndExitZero() {
        assertThat(run("--help")).isZero();
        assertThat(stdout()).contains("ca").contains("issue");
        assertThat(run("issue", "--help")).isZero();
        assertThat(stdout()).contains("--name");
    }

    private int run(String... args) {
        return CertMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String stdout() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
