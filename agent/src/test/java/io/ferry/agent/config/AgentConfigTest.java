package io.ferry.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.ferry.config.ConfigException;
import io.ferry.testing.ConfigSamples;
import io.ferry.config.HostPort;
import io.ferry.config.TlsFiles;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AgentConfigTest {

    private static final String VALID = String.join("\n",
            "id: host-a",
            "dataDir: data",
            "nbd:",
            "  listen: 127.0.0.1:0",
            "api:",
            "  listen: 127.0.0.1:0",
            "journal: { maxBytes: 64MiB }",
            "groups:",
            "  - name: db",
            "    rpo: 5s",
            "    volumes:",
            "      - name: db-data",
            "        path: vols/db-data.img",
            "        size: 1MiB",
            "      - name: db-log",
            "        path: vols/db-log.img",
            "        size: 512KiB",
            "  - name: web",
            "    volumes:",
            "      - name: web-root",
            "        path: vols/web-root.img",
            "        size: 4MiB",
            "");

    @TempDir
    Path dir;

    private ConfigSamples<AgentConfig> samples;

    @BeforeEach
    void createVolumeDirectory() throws IOException {
        samples = new ConfigSamples<>(VALID, yaml -> AgentConfig.parse(yaml, dir));
        Files.createDirectories(dir.resolve("vols"));
    }


    @Test
    void shouldParseTheSampleResolvingRelativePathsAgainstTheBaseDirectory() {
        AgentConfig config = samples.parse(VALID);

        assertThat(config.id()).isEqualTo("host-a");
        assertThat(config.dataDir()).isEqualTo(dir.resolve("data"));
        assertThat(config.nbd()).isEqualTo(new NbdSettings(new HostPort("127.0.0.1", 0), null));
        assertThat(config.apiListen()).isEqualTo(new HostPort("127.0.0.1", 0));
        assertThat(config.receiver()).isNull();
        assertThat(config.tls()).isNull();
        assertThat(config.journalMaxBytes()).isEqualTo(64L << 20);
        assertThat(config.groups()).extracting(GroupConfig::name).containsExactly("db", "web");
        GroupConfig db = config.group("db");
        assertThat(db.rpo()).isEqualTo(Duration.ofSeconds(5));
        assertThat(db.volumes()).containsExactly(
                new VolumeConfig("db-data", dir.resolve("vols/db-data.img"), 1L << 20),
                new VolumeConfig("db-log", dir.resolve("vols/db-log.img"), 512L << 10));
    }

    @Test
    void shouldApplyDefaultsForOptionalSettings() {
        AgentConfig config = samples.parse(String.join("\n",
                "id: h",
                "dataDir: /var/lib/ferry/agent",
                "nbd: { socket: agent.sock }",
                "groups:",
                "  - name: g",
                "    volumes: [{ name: v, path: vols/v.img, size: 512 }]",
                ""));
        assertThat(config.nbd()).isEqualTo(new NbdSettings(null, dir.resolve("agent.sock")));
        assertThat(config.apiListen()).isEqualTo(AgentConfig.DEFAULT_API_LISTEN).hasToString("127.0.0.1:9400");
        assertThat(config.journalMaxBytes()).isEqualTo(8L << 30);
        assertThat(config.group("g").rpo()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.receiver()).isNull();
    }

    @Test
    void shouldAcceptSynchronousRpoAndAReceiver() {
        AgentConfig config = samples.parse(samples.with("rpo: 5s", "rpo: 0s").replace("journal:", "receiver: 127.0.0.1:9500\njournal:"));
        assertThat(config.group("db").rpo()).isZero();
        assertThat(config.receiver()).isEqualTo(new HostPort("127.0.0.1", 9500));
    }

    @Test
    void shouldAcceptTlsFilesThatExist() throws IOException {
        Path certs = Files.createDirectories(dir.resolve("certs"));
        for (String f : new String[] {"ca.pem", "host-a.pem", "host-a.key"}) {
            Files.writeString(certs.resolve(f), "x");
        }
        AgentConfig config = samples.parse(VALID + "tls: { ca: certs/ca.pem, cert: certs/host-a.pem, key: certs/host-a.key }\n");
        assertThat(config.tls()).isEqualTo(new TlsFiles(
                certs.resolve("ca.pem"), certs.resolve("host-a.pem"), certs.resolve("host-a.key")));
    }

    @Test
    void shouldAcceptAnExistingVolumeFileOfTheConfiguredSize() throws IOException {
        sizedFile(dir.resolve("vols/db-data.img"), 1L << 20);
        assertThat(samples.parse(VALID).group("db").volumes().get(0).sizeBytes()).isEqualTo(1L << 20);
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                // key path, sample text, replacement
                Arguments.of("id", "id: host-a", "id: host/a"),
                Arguments.of("id", "id: host-a", "id: .."),
                Arguments.of("id", "id: host-a\n", ""),
                Arguments.of("dataDir", "dataDir: data\n", ""),
                Arguments.of("nbd", "nbd:\n  listen: 127.0.0.1:0\n", ""),
                Arguments.of("nbd", "nbd:\n  listen: 127.0.0.1:0\n", "nbd: {}\n"),
                Arguments.of("nbd", "nbd:\n  listen: 127.0.0.1:0\n", "nbd: 127.0.0.1:0\n"),
                Arguments.of("nbd.listen", "listen: 127.0.0.1:0\napi", "listen: 127.0.0.1:99999\napi"),
                Arguments.of("nbd.port", "  listen: 127.0.0.1:0\napi", "  port: 10809\napi"),
                Arguments.of("api.listen", "api:\n  listen: 127.0.0.1:0", "api:\n  listen: localhost"),
                Arguments.of("receiver", "journal:", "receiver: dr-site\njournal:"),
                Arguments.of("journal.maxBytes", "maxBytes: 64MiB", "maxBytes: 0"),
                Arguments.of("journal.maxBytes", "maxBytes: 64MiB", "maxBytes: 64MB"),
                Arguments.of("journal.maxBytes", "maxBytes: 64MiB", "maxBytes: -1GiB"),
                Arguments.of("journal.max", "maxBytes: 64MiB", "max: 64MiB"),
                Arguments.of("extra", "journal:", "extra: 1\njournal:"),
                Arguments.of("groups[0].name", "- name: db\n", "- name: my db\n"),
                Arguments.of("groups[1].name", "- name: web\n", "- name: db\n"),
                Arguments.of("groups[0].rpo", "rpo: 5s", "rpo: 5"),
                Arguments.of("groups[0].rpo", "rpo: 5s", "rpo: -5s"),
                Arguments.of("groups[0].rpo", "rpo: 5s", "rpo: 5 days"),
                Arguments.of("groups[0].rpoSeconds", "rpo: 5s", "rpoSeconds: 5"),
                Arguments.of("groups[1].volumes", "  - name: web\n    volumes:\n      - name: web-root\n"
                        + "        path: vols/web-root.img\n        size: 4MiB\n", "  - name: web\n    volumes: []\n"),
                Arguments.of("groups[1].volumes", "  - name: web\n    volumes:\n      - name: web-root\n"
                        + "        path: vols/web-root.img\n        size: 4MiB\n", "  - name: web\n"),
                Arguments.of("groups[0].volumes[1].name", "name: db-log", "name: db/log"),
                Arguments.of("groups[1].volumes[0].name", "name: web-root", "name: db-data"),
                Arguments.of("groups[0].volumes[1].name", "name: db-log", "name: db-data"),
                Arguments.of("groups[0].volumes[0].size", "size: 1MiB", "size: 0"),
                Arguments.of("groups[0].volumes[0].size", "size: 1MiB", "size: 1000"),
                Arguments.of("groups[0].volumes[0].size", "size: 1MiB", "size: 1XiB"),
                Arguments.of("groups[0].volumes[0].size", "        size: 1MiB\n", ""),
                Arguments.of("groups[0].volumes[0].path", "path: vols/db-data.img", "path: missing-dir/db-data.img"),
                Arguments.of("groups[0].volumes[0].path", "path: vols/db-data.img", "path: vols"),
                Arguments.of("groups[0].volumes[1].path", "path: vols/db-log.img", "path: vols/../vols/db-data.img"),
                Arguments.of("groups[0].volumes[0].readOnly", "size: 1MiB", "size: 1MiB\n        readOnly: true"),
                Arguments.of("groups[0]", "  - name: db\n    rpo: 5s\n", "  - rpo: 5s\n"));
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("badValues")
    void shouldRejectABadValueNamingItsKeyPath(String key, String from, String to) {
        String yaml = samples.with(from, to);
        String expectedKey = key.equals("groups[0]") ? "groups[0].name" : key;
        samples.rejected(yaml, expectedKey);
    }

    @Test
    void shouldRequireAtLeastOneGroup() {
        String head = VALID.substring(0, VALID.indexOf("groups:"));
        assertThat(samples.rejected(head + "groups: []\n", "groups").getMessage()).contains("at least one consistency group");
        assertThat(samples.rejected(head, "groups").getMessage()).contains("is required");
    }

    @Test
    void shouldExplainWhatIsExpectedForABadSize() {
        ConfigException e = samples.rejected(samples.with("size: 1MiB", "size: 1000"), "groups[0].volumes[0].size");
        assertThat(e.getMessage()).contains("1000 bytes is not a multiple of 512");
        e = samples.rejected(samples.with("size: 1MiB", "size: 1XiB"), "groups[0].volumes[0].size");
        assertThat(e.getMessage()).contains("\"1XiB\"").contains("KiB, MiB, GiB or TiB");
    }

    @Test
    void shouldRejectDuplicateExportNamesAcrossGroupsNamingTheFirstUse() {
        ConfigException e = samples.rejected(samples.with("name: web-root", "name: db-data"), "groups[1].volumes[0].name");
        assertThat(e.getMessage()).contains("already used by groups[0].volumes[0]");
    }

    @Test
    void shouldRejectAVolumeWhoseDirectoryDoesNotExist() {
        ConfigException e = samples.rejected(samples.with("path: vols/db-data.img", "path: missing-dir/db-data.img"),
                "groups[0].volumes[0].path");
        assertThat(e.getMessage()).contains("unreadable path").contains(dir.resolve("missing-dir").toString());
    }

    @Test
    void shouldRejectAnExistingVolumeFileOfAnotherSize() throws IOException {
        sizedFile(dir.resolve("vols/db-data.img"), 2L << 20);
        ConfigException e = samples.rejected(VALID, "groups[0].volumes[0].size");
        assertThat(e.getMessage()).contains("1MiB (1048576 bytes)").contains("is 2097152 bytes");
    }

    /** Permission bits do not stop root (tests and CI run as root), so the unusable path here is a directory. */
    @Test
    void shouldRejectAVolumePathThatIsNotARegularFile() throws IOException {
        Files.createDirectories(dir.resolve("vols/db-data.img"));
        ConfigException e = samples.rejected(VALID, "groups[0].volumes[0].path");
        assertThat(e.getMessage()).contains("unreadable path");
    }

    @Test
    void shouldRejectADataDirThatIsAFile() throws IOException {
        Files.writeString(dir.resolve("data"), "");
        assertThat(samples.rejected(VALID, "dataDir").getMessage()).contains("is not a directory");
    }

    @Test
    void shouldRejectMissingTlsFilesNamingTheKey() throws IOException {
        Path certs = Files.createDirectories(dir.resolve("certs"));
        Files.writeString(certs.resolve("ca.pem"), "x");
        Files.writeString(certs.resolve("host-a.pem"), "x");
        ConfigException e = samples.rejected(
                VALID + "tls: { ca: certs/ca.pem, cert: certs/host-a.pem, key: certs/host-a.key }\n", "tls.key");
        assertThat(e.getMessage()).contains(certs.resolve("host-a.key") + " does not exist");
        samples.rejected(VALID + "tls: { ca: certs, cert: certs/host-a.pem, key: certs/host-a.pem }\n", "tls.ca");
        samples.rejected(VALID + "tls: { ca: certs/ca.pem, key: certs/host-a.pem }\n", "tls.cert");
    }

    @Test
    void shouldLoadAFileResolvingPathsAgainstItsDirectoryAndNamingItInErrors() throws IOException {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.createDirectories(etc.resolve("vols"));
        Path file = etc.resolve("agent.yaml");
        Files.writeString(file, VALID);
        AgentConfig config = AgentConfig.load(file);
        assertThat(config.dataDir()).isEqualTo(etc.resolve("data"));
        assertThat(config.group("web").volumes().get(0).path()).isEqualTo(etc.resolve("vols/web-root.img"));

        Files.writeString(file, samples.with("rpo: 5s", "rpo: soon"));
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> AgentConfig.load(file));
        assertThat(e.key()).isEqualTo("groups[0].rpo");
        assertThat(e.getMessage()).startsWith(file + ":10: groups[0].rpo: \"soon\"");
    }

    @Test
    void shouldNameAMissingConfigFile() {
        Path file = dir.resolve("nope.yaml");
        assertThatThrownBy(() -> AgentConfig.load(file))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ": no such file");
    }

    @Test
    void shouldBeImmutable() {
        AgentConfig config = samples.parse(VALID);
        assertThatThrownBy(() -> config.groups().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> config.group("db").volumes().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    private static Path sizedFile(Path path, long sizeBytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
            f.setLength(sizeBytes);
        }
        return path;
    }
}
