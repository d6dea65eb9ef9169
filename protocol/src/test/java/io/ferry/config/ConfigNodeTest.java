package io.ferry.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigNodeTest {

    private static final String SAMPLE = String.join("\n",
            "id: host-a",
            "nbd:",
            "  listen: 127.0.0.1:10809",
            "groups:",
            "  - name: db",
            "    rpo: 30s",
            "    volumes:",
            "      - name: v1",
            "        size: 10GiB",
            "      - name: v2",
            "        size: 10XB",
            "");

    private static ConfigNode parse(String yaml) {
        return ConfigNode.parse(yaml, "test.yaml");
    }

    @Test
    void shouldReadNestedValues() {
        ConfigNode root = parse(SAMPLE);
        assertThat(root.requireString("id")).isEqualTo("host-a");
        assertThat(root.requireChild("nbd").requireHostPort("listen")).isEqualTo(new HostPort("127.0.0.1", 10809));
        ConfigNode group = root.list("groups").get(0);
        assertThat(group.path()).isEqualTo("groups[0]");
        assertThat(group.requireDuration("rpo")).isEqualTo(Duration.ofSeconds(30));
        assertThat(group.list("volumes").get(0).requireBytes("size")).isEqualTo(10L << 30);
    }

    @Test
    void shouldNameTheFullKeyPathTheLineAndTheValueOfABadValue() {
        ConfigNode volume = parse(SAMPLE).list("groups").get(0).list("volumes").get(1);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> volume.requireBytes("size"));
        assertThat(e.key()).isEqualTo("groups[0].volumes[1].size");
        assertThat(e.getMessage())
                .startsWith("test.yaml:11: groups[0].volumes[1].size: ")
                .contains("\"10XB\"")
                .contains("KiB, MiB, GiB or TiB");
    }

    @Test
    void shouldNameAMissingKeyByItsPath() {
        ConfigNode volume = parse(SAMPLE).list("groups").get(0).list("volumes").get(0);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> volume.requireString("path"));
        assertThat(e.key()).isEqualTo("groups[0].volumes[0].path");
        assertThat(e.getMessage()).contains("is required").contains("missing");
    }

    @Test
    void shouldTreatAnEmptyValueAsAbsentForOptionalKeysAndAsMissingForRequiredOnes() {
        ConfigNode root = parse("id:\nreceiver: ~\n");
        assertThat(root.optionalHostPort("receiver")).isEmpty();
        assertThat(root.has("id")).isFalse();
        assertThatThrownBy(() -> root.requireString("id"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("id: has no value");
    }

    @Test
    void shouldRejectDuplicateKeysNamingBothLines() {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> parse("id: a\nnbd:\n  listen: 127.0.0.1:1\n  listen: 127.0.0.1:2\n"));
        assertThat(e.key()).isEqualTo("nbd.listen");
        assertThat(e.getMessage()).contains("test.yaml:4").contains("duplicate key \"listen\" (first at line 3)");
    }

    @Test
    void shouldRejectUnknownKeysListingTheAllowedOnes() {
        ConfigNode root = parse("id: a\ndatadir: /x\n");
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> root.rejectUnknownKeys("id", "dataDir"));
        assertThat(e.key()).isEqualTo("datadir");
        assertThat(e.getMessage())
                .contains("unknown key \"datadir\" (did you mean \"dataDir\"?)")
                .contains("expected one of: id, dataDir");
    }

    @Test
    void shouldRejectAValueOfTheWrongShape() {
        ConfigNode root = parse("nbd: 127.0.0.1:1\ngroups: {name: db}\nid: [a]\n");
        assertThat(catchThrowableOfType(ConfigException.class, () -> root.requireChild("nbd")))
                .hasMessageContaining("nbd: found the value \"127.0.0.1:1\"; expected a mapping");
        assertThat(catchThrowableOfType(ConfigException.class, () -> root.list("groups")).key())
                .isEqualTo("groups");
        assertThat(catchThrowableOfType(ConfigException.class, () -> root.requireString("id")))
                .hasMessageContaining("found a list; expected a single value");
    }

    @Test
    void shouldKeepScalarTextAsWritten() {
        ConfigNode root = parse("a: no\nb: 0x10\nc: 1e3\nd: 'null'\ne: 007\n");
        assertThat(List.of(root.requireString("a"), root.requireString("b"), root.requireString("c"),
                root.requireString("d"), root.requireString("e")))
                .containsExactly("no", "0x10", "1e3", "null", "007");
    }

    @Test
    void shouldResolveRelativePathsAgainstTheBaseDirectory() {
        ConfigNode root = parse("rel: certs/../certs/ca.pem\nabs: /srv/v.img\n");
        Path base = Path.of("/etc/ferry");
        assertThat(root.requirePath("rel", base)).isEqualTo(Path.of("/etc/ferry/certs/ca.pem"));
        assertThat(root.requirePath("abs", base)).isEqualTo(Path.of("/srv/v.img"));
        assertThat(catchThrowableOfType(ConfigException.class,
                () -> parse("p: ''\n").requirePath("p", base)))
                .hasMessageContaining("p: the path is empty");
    }

    @Test
    void shouldCheckNames() {
        ConfigNode root = parse("name: ../etc\n");
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> root.requireName("name"));
        assertThat(e.key()).isEqualTo("name");
        assertThat(e.getMessage()).contains("\"../etc\" is not a valid name");
    }

    @Test
    void shouldRejectDocumentsThatAreNotASingleMapping() {
        assertThatThrownBy(() -> parse("")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("test.yaml: the file is empty");
        assertThatThrownBy(() -> parse("- a\n- b\n")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("the document is a list; expected a YAML mapping");
        assertThatThrownBy(() -> parse("a: 1\n---\nb: 2\n")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("more than one YAML document");
    }

    @Test
    void shouldReportYamlSyntaxErrorsWithTheirLine() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse("a: 1\nb: [1, 2\nc: 3\n"));
        assertThat(e.key()).isEmpty();
        assertThat(e.getMessage()).startsWith("test.yaml:").contains("not valid YAML");
    }

    @Test
    void shouldRejectAliases() {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> parse("a: &x foo\nb: *x\n"));
        assertThat(e.key()).isEqualTo("b");
        assertThat(e.getMessage()).contains("aliases");
    }
}
