package io.ferry.receiver.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.ferry.config.ConfigException;
import io.ferry.config.HostPort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReceiverConfigTest {

    private static final String VALID = String.join("\n",
            "id: dr-1",
            "dataDir: data",
            "listen: 127.0.0.1:9500",
            "nbd: { listen: 127.0.0.1:10810 }",
            "api: { listen: 127.0.0.1:9401 }",
            "tls: { ca: certs/ca.pem, cert: certs/dr-1.pem, key: certs/dr-1.key }",
            "retention: 2h",
            "pointInterval: 10s",
            "agents:",
            "  - id: host-a",
            "    groups: [db, web]",
            "  - id: host-b",
            "    groups:",
            "      - mail",
            "");

    @TempDir
    Path dir;

    @BeforeEach
    void createTlsFiles() throws IOException {
        Files.createDirectories(dir.resolve("certs"));
        for (String name : List.of("ca.pem", "dr-1.pem", "dr-1.key")) {
            Files.writeString(dir.resolve("certs").resolve(name), "placeholder\n");
        }
    }

    private ReceiverConfig parse(String yaml) {
        return ReceiverConfig.parse(yaml, dir);
    }

    private static String with(String from, String to) {
        if (!VALID.contains(from)) {
            throw new IllegalArgumentException("test bug: sample has no " + from);
        }
        return VALID.replace(from, to);
    }

    private ConfigException rejected(String yaml, String expectedKey) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected a ConfigException for key %s", expectedKey).isNotNull();
        assertThat(e.key()).isEqualTo(expectedKey);
        assertThat(e.getMessage()).contains(expectedKey);
        return e;
    }

    @Test
    void shouldParseTheSampleResolvingRelativePathsAgainstTheBaseDirectory() {
        ReceiverConfig config = parse(VALID);

        assertThat(config.id()).isEqualTo("dr-1");
        assertThat(config.dataDir()).isEqualTo(dir.resolve("data").toAbsolutePath());
        assertThat(config.listen()).isEqualTo(new HostPort("127.0.0.1", 9500));
        assertThat(config.nbdListen()).isEqualTo(new HostPort("127.0.0.1", 10810));
        assertThat(config.apiListen()).isEqualTo(new HostPort("127.0.0.1", 9401));
        assertThat(config.tls().ca()).isEqualTo(dir.resolve("certs/ca.pem").toAbsolutePath());
        assertThat(config.tls().cert()).isEqualTo(dir.resolve("certs/dr-1.pem").toAbsolutePath());
        assertThat(config.tls().key()).isEqualTo(dir.resolve("certs/dr-1.key").toAbsolutePath());
        assertThat(config.retention()).isEqualTo(Duration.ofHours(2));
        assertThat(config.pointInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.agents()).containsExactly(
                new AllowedAgent("host-a", List.of("db", "web")),
                new AllowedAgent("host-b", List.of("mail")));
        assertThat(config.groups()).containsExactly("db", "web", "mail");
        assertThat(config.ownerOf("web")).isEqualTo("host-a");
        assertThat(config.ownerOf("mail")).isEqualTo("host-b");
        assertThat(config.ownerOf("other")).isNull();
        assertThat(config.agent("host-b").owns("mail")).isTrue();
        assertThat(config.agent("host-c")).isNull();
    }

    @Test
    void shouldApplyDefaultsForRetentionPointIntervalApiAndNoNbd() {
        ReceiverConfig config = parse(String.join("\n",
                "id: dr-1",
                "dataDir: data",
                "listen: 127.0.0.1:0",
                "tls: { ca: certs/ca.pem, cert: certs/dr-1.pem, key: certs/dr-1.key }",
                "agents: [{ id: host-a, groups: [db] }]"));

        assertThat(config.retention()).isEqualTo(ReceiverConfig.DEFAULT_RETENTION).isEqualTo(Duration.ofHours(1));
        assertThat(config.pointInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.apiListen()).isEqualTo(ReceiverConfig.DEFAULT_API_LISTEN);
        assertThat(config.nbdListen()).isNull();
    }

    @Test
    void shouldLoadAFileResolvingPathsAgainstItsDirectory() throws IOException {
        Path file = Files.writeString(dir.resolve("receiver.yaml"), VALID);
        ReceiverConfig config = ReceiverConfig.load(file);
        assertThat(config.dataDir()).isEqualTo(dir.resolve("data").toAbsolutePath());
    }

    @Test
    void shouldNameTheMissingFile() {
        Path missing = dir.resolve("nope.yaml");
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ReceiverConfig.load(missing));
        assertThat(e.getMessage()).contains(missing.toString()).contains("no such file");
    }

    @Test
    void shouldRequireAnIdThatIsAName() {
        rejected(VALID.replace("id: dr-1\n", ""), "id");
        rejected(with("id: dr-1", "id: dr/1"), "id");
    }

    @Test
    void shouldRequireADataDirThatIsNotAFile() throws IOException {
        rejected(with("dataDir: data\n", ""), "dataDir");
        Files.writeString(dir.resolve("data"), "x");
        assertThat(rejected(VALID, "dataDir").getMessage()).contains("not a directory");
    }

    @Test
    void shouldRequireAReplicationListenAddress() {
        rejected(with("listen: 127.0.0.1:9500\n", ""), "listen");
        rejected(with("listen: 127.0.0.1:9500", "listen: 127.0.0.1"), "listen");
        rejected(with("listen: 127.0.0.1:9500", "listen: 127.0.0.1:70000"), "listen");
    }

    @Test
    void shouldRejectBadNbdAndApiAddressesAndUnknownKeys() {
        rejected(with("nbd: { listen: 127.0.0.1:10810 }", "nbd: { listen: nowhere }"), "nbd.listen");
        rejected(with("nbd: { listen: 127.0.0.1:10810 }", "nbd: { listen: 127.0.0.1:1, socket: /x }"), "nbd.socket");
        rejected(with("api: { listen: 127.0.0.1:9401 }", "api: { listen: localhost }"), "api.listen");
    }

    @Test
    void shouldRejectTwoListenersOnTheSamePort() {
        ConfigException e = rejected(with("api: { listen: 127.0.0.1:9401 }", "api: { listen: 127.0.0.1:9500 }"),
                "api.listen");
        assertThat(e.getMessage()).contains("listen");
        rejected(with("nbd: { listen: 127.0.0.1:10810 }", "nbd: { listen: 127.0.0.1:9500 }"), "nbd.listen");
        // the default API address counts too
        rejected(with("api: { listen: 127.0.0.1:9401 }\n", "").replace("listen: 127.0.0.1:9500", "listen: 127.0.0.1:9401"),
                "api");
    }

    @Test
    void shouldAllowPortZeroOnEveryListener() {
        ReceiverConfig config = parse(with("listen: 127.0.0.1:9500", "listen: 127.0.0.1:0")
                .replace("127.0.0.1:10810", "127.0.0.1:0").replace("127.0.0.1:9401", "127.0.0.1:0"));
        assertThat(config.listen().port()).isZero();
        assertThat(config.apiListen().port()).isZero();
    }

    @Test
    void shouldRequireTlsBecauseThereIsNoPlaintextMode() {
        ConfigException e = rejected(with("tls: { ca: certs/ca.pem, cert: certs/dr-1.pem, key: certs/dr-1.key }\n", ""),
                "tls");
        assertThat(e.getMessage()).contains("no plaintext mode");
        rejected(with("ca: certs/ca.pem, ", ""), "tls.ca");
        rejected(with("cert: certs/dr-1.pem, ", ""), "tls.cert");
        rejected(with(", key: certs/dr-1.key", ""), "tls.key");
        rejected(with("key: certs/dr-1.key", "key: certs/dr-1.key, crl: x"), "tls.crl");
    }

    @Test
    void shouldNameTlsFilesThatDoNotExist() {
        ConfigException e = rejected(with("certs/dr-1.key", "certs/missing.key"), "tls.key");
        assertThat(e.getMessage()).contains("missing.key").contains("does not exist");
        rejected(with("certs/ca.pem", "certs"), "tls.ca");
    }

    @Test
    void shouldRejectZeroOrMalformedRetentionAndPointInterval() {
        rejected(with("retention: 2h", "retention: 0s"), "retention");
        rejected(with("retention: 2h", "retention: 2"), "retention");
        rejected(with("retention: 2h", "retention: -1h"), "retention");
        rejected(with("pointInterval: 10s", "pointInterval: 0ms"), "pointInterval");
        rejected(with("pointInterval: 10s", "pointInterval: soon"), "pointInterval");
        assertThat(rejected(with("pointInterval: 10s", "pointInterval: 3h"), "pointInterval").getMessage())
                .contains("longer than retention");
    }

    @Test
    void shouldRequireAtLeastOneAgentWithAtLeastOneGroup() {
        rejected(VALID.substring(0, VALID.indexOf("agents:")), "agents");
        rejected(VALID.substring(0, VALID.indexOf("agents:")) + "agents: []\n", "agents");
        rejected(with("    groups: [db, web]", "    groups: []"), "agents[0].groups");
        rejected(with("    groups: [db, web]\n", ""), "agents[0].groups");
        rejected(with("  - id: host-b", "  - idd: host-b"), "agents[1].idd");
    }

    @Test
    void shouldRejectBadAgentAndGroupNames() {
        rejected(with("id: host-a", "id: host a"), "agents[0].id");
        rejected(with("[db, web]", "[db, ../web]"), "agents[0].groups[1]");
        rejected(with("[db, web]", "[db, [web]]"), "agents[0].groups[1]");
    }

    @Test
    void shouldRejectAnAgentListedTwice() {
        ConfigException e = rejected(with("id: host-b", "id: host-a"), "agents[1].id");
        assertThat(e.getMessage()).contains("agents[0]");
    }

    @Test
    void shouldRejectAGroupOwnedByTwoAgents() {
        ConfigException e = rejected(with("      - mail", "      - web"), "agents[1].groups[0]");
        assertThat(e.getMessage()).contains("\"web\"").contains("host-a");
    }

    @Test
    void shouldRejectAGroupListedTwiceForOneAgent() {
        rejected(with("[db, web]", "[db, db]"), "agents[0].groups[1]");
    }

    @Test
    void shouldRejectUnknownTopLevelKeys() {
        ConfigException e = rejected(VALID + "retension: 1h\n", "retension");
        assertThat(e.getMessage()).contains("expected one of");
    }
}
