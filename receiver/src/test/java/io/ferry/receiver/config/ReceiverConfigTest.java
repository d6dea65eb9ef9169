package io.ferry.receiver.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.ferry.config.ConfigException;
import io.ferry.testing.ConfigSamples;
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

    /** A valid receiver.yaml: every test varies it in one place. */
    private static final String VALID = """
            id: dr-1
            dataDir: data
            listen: 127.0.0.1:9500
            nbd: { listen: 127.0.0.1:10810 }
            api: { listen: 127.0.0.1:9401 }
            tls: { ca: certs/ca.pem, cert: certs/dr-1.pem, key: certs/dr-1.key }
            retention: 2h
            pointInterval: 10s
            agents:
              - id: host-a
                groups: [db, web]
              - id: host-b
                groups:
                  - mail
            """;

    @TempDir
    Path dir;

    private ConfigSamples<ReceiverConfig> samples;

    @BeforeEach
    void createTlsFiles() throws IOException {
        samples = new ConfigSamples<>(VALID, yaml -> ReceiverConfig.parse(yaml, dir));
        Files.createDirectories(dir.resolve("certs"));
        for (String name : List.of("ca.pem", "dr-1.pem", "dr-1.key")) {
            Files.writeString(dir.resolve("certs").resolve(name), "placeholder\n");
        }
    }


    @Test
    void shouldParseTheSampleResolvingRelativePathsAgainstTheBaseDirectory() {
        ReceiverConfig config = samples.parse(VALID);

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
        ReceiverConfig config = samples.parse(String.join("\n",
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
        samples.rejected(VALID.replace("id: dr-1\n", ""), "id");
        samples.rejected(samples.with("id: dr-1", "id: dr/1"), "id");
    }

    @Test
    void shouldRequireADataDirThatIsNotAFile() throws IOException {
        samples.rejected(samples.with("dataDir: data\n", ""), "dataDir");
        Files.writeString(dir.resolve("data"), "x");
        assertThat(samples.rejected(VALID, "dataDir").getMessage()).contains("not a directory");
    }

    @Test
    void shouldRequireAReplicationListenAddress() {
        samples.rejected(samples.with("listen: 127.0.0.1:9500\n", ""), "listen");
        samples.rejected(samples.with("listen: 127.0.0.1:9500", "listen: 127.0.0.1"), "listen");
        samples.rejected(samples.with("listen: 127.0.0.1:9500", "listen: 127.0.0.1:70000"), "listen");
    }

    @Test
    void shouldRejectBadNbdAndApiAddressesAndUnknownKeys() {
        samples.rejected(samples.with("nbd: { listen: 127.0.0.1:10810 }", "nbd: { listen: nowhere }"), "nbd.listen");
        samples.rejected(samples.with("nbd: { listen: 127.0.0.1:10810 }", "nbd: { listen: 127.0.0.1:1, socket: /x }"), "nbd.socket");
        samples.rejected(samples.with("api: { listen: 127.0.0.1:9401 }", "api: { listen: localhost }"), "api.listen");
    }

    @Test
    void shouldRejectTwoListenersOnTheSamePort() {
        ConfigException e = samples.rejected(samples.with("api: { listen: 127.0.0.1:9401 }", "api: { listen: 127.0.0.1:9500 }"),
                "api.listen");
        assertThat(e.getMessage()).contains("listen");
        samples.rejected(samples.with("nbd: { listen: 127.0.0.1:10810 }", "nbd: { listen: 127.0.0.1:9500 }"), "nbd.listen");
        // the default API address counts too
        samples.rejected(samples.with("api: { listen: 127.0.0.1:9401 }\n", "").replace("listen: 127.0.0.1:9500", "listen: 127.0.0.1:9401"),
                "api");
    }

    @Test
    void shouldAllowPortZeroOnEveryListener() {
        ReceiverConfig config = samples.parse(samples.with("listen: 127.0.0.1:9500", "listen: 127.0.0.1:0")
                .replace("127.0.0.1:10810", "127.0.0.1:0").replace("127.0.0.1:9401", "127.0.0.1:0"));
        assertThat(config.listen().port()).isZero();
        assertThat(config.apiListen().port()).isZero();
    }

    @Test
    void shouldRequireTlsBecauseThereIsNoPlaintextMode() {
        ConfigException e = samples.rejected(samples.with("tls: { ca: certs/ca.pem, cert: certs/dr-1.pem, key: certs/dr-1.key }\n", ""),
                "tls");
        assertThat(e.getMessage()).contains("no plaintext mode");
        samples.rejected(samples.with("ca: certs/ca.pem, ", ""), "tls.ca");
        samples.rejected(samples.with("cert: certs/dr-1.pem, ", ""), "tls.cert");
        samples.rejected(samples.with(", key: certs/dr-1.key", ""), "tls.key");
        samples.rejected(samples.with("key: certs/dr-1.key", "key: certs/dr-1.key, crl: x"), "tls.crl");
    }

    @Test
    void shouldNameTlsFilesThatDoNotExist() {
        ConfigException e = samples.rejected(samples.with("certs/dr-1.key", "certs/missing.key"), "tls.key");
        assertThat(e.getMessage()).contains("missing.key").contains("does not exist");
        samples.rejected(samples.with("certs/ca.pem", "certs"), "tls.ca");
    }

    @Test
    void shouldRejectZeroOrMalformedRetentionAndPointInterval() {
        samples.rejected(samples.with("retention: 2h", "retention: 0s"), "retention");
        samples.rejected(samples.with("retention: 2h", "retention: 2"), "retention");
        samples.rejected(samples.with("retention: 2h", "retention: -1h"), "retention");
        samples.rejected(samples.with("pointInterval: 10s", "pointInterval: 0ms"), "pointInterval");
        samples.rejected(samples.with("pointInterval: 10s", "pointInterval: soon"), "pointInterval");
        assertThat(samples.rejected(samples.with("pointInterval: 10s", "pointInterval: 3h"), "pointInterval").getMessage())
                .contains("longer than retention");
    }

    @Test
    void shouldRequireAtLeastOneAgentWithAtLeastOneGroup() {
        samples.rejected(VALID.substring(0, VALID.indexOf("agents:")), "agents");
        samples.rejected(VALID.substring(0, VALID.indexOf("agents:")) + "agents: []\n", "agents");
        samples.rejected(samples.with("    groups: [db, web]", "    groups: []"), "agents[0].groups");
        samples.rejected(samples.with("    groups: [db, web]\n", ""), "agents[0].groups");
        samples.rejected(samples.with("  - id: host-b", "  - idd: host-b"), "agents[1].idd");
    }

    @Test
    void shouldRejectBadAgentAndGroupNames() {
        samples.rejected(samples.with("id: host-a", "id: host a"), "agents[0].id");
        samples.rejected(samples.with("[db, web]", "[db, ../web]"), "agents[0].groups[1]");
        samples.rejected(samples.with("[db, web]", "[db, [web]]"), "agents[0].groups[1]");
    }

    @Test
    void shouldRejectAnAgentListedTwice() {
        ConfigException e = samples.rejected(samples.with("id: host-b", "id: host-a"), "agents[1].id");
        assertThat(e.getMessage()).contains("agents[0]");
    }

    @Test
    void shouldRejectAGroupOwnedByTwoAgents() {
        ConfigException e = samples.rejected(samples.with("      - mail", "      - web"), "agents[1].groups[0]");
        assertThat(e.getMessage()).contains("\"web\"").contains("host-a");
    }

    @Test
    void shouldRejectAGroupListedTwiceForOneAgent() {
        samples.rejected(samples.with("[db, web]", "[db, db]"), "agents[0].groups[1]");
    }

    @Test
    void shouldRejectUnknownTopLevelKeys() {
        ConfigException e = samples.rejected(VALID + "retension: 1h\n", "retension");
        assertThat(e.getMessage()).contains("expected one of");
    }
}
