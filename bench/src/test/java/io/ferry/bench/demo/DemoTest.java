package io.ferry.bench.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DemoTest {

    @Test
    void shouldReplicatePromoteAndFindThePromotedExportsIdenticalToThePrimaries() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Demo.run(new String[] {"--seconds", "2"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(exit).as("demo output:%n%s%n%s", text, err).isZero();
        assertThat(text).contains("drill started at latest")
                .contains("demo-data primary file vs drill clone demo-data-drill: identical")
                .contains("drill start at latest").contains("clones identical to the primaries")
                .contains("promoted group demo to latest")
                .contains("reports the group as fenced")
                .contains("demo-data primary file vs promoted export").contains("promoted replicas           identical to the primaries")
                .doesNotContain("DIFFER");
    }

    @Test
    void shouldRefuseAnUnknownOptionWithExitCodeTwo() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Demo.run(new String[] {"--fast"}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("ferry demo: Unknown option: '--fast'")
                .contains("Usage: ferry demo");
    }
}
