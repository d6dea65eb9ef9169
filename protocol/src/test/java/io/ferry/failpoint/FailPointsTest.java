package io.ferry.failpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.ferry.testing.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FailPointsTest {

    /** Passes "first", then "second", writing a file after each. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Path out = Path.of(args[0]);
            FailPoints.hit("first");
            Files.writeString(out.resolve("after-first"), "x");
            FailPoints.hit("second");
            Files.writeString(out.resolve("after-second"), "x");
        }
    }

    @Test
    void shouldParkAtAnArmedPointAfterWritingItsMarker(@TempDir Path dir) throws Exception {
        Path markers = dir.resolve("markers");
        try (ChildJvm child = ChildJvm.start(dir.resolve("child.log"), FailPoints.jvmOptions("second", "pause", markers),
                Child.class.getName(), dir.toString())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(markers.resolve("second")));
            assertThat(child.isAlive()).isTrue();
            child.kill9();
        }
        assertThat(Files.readString(markers.resolve("second"))).matches("\\d+");
        assertThat(markers.resolve("first")).doesNotExist();
        assertThat(dir.resolve("after-first")).exists();
        assertThat(dir.resolve("after-second")).doesNotExist();
    }

    @Test
    void shouldHaltTheJvmAtAnArmedPoint(@TempDir Path dir) throws Exception {
        Path markers = dir.resolve("markers");
        try (ChildJvm child = ChildJvm.start(dir.resolve("child.log"), FailPoints.jvmOptions("first", "halt", markers),
                Child.class.getName(), dir.toString())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> !child.isAlive());
            assertThat(child.exitCode(10, TimeUnit.SECONDS)).isEqualTo(FailPoints.HALT_EXIT_CODE);
        }
        assertThat(markers.resolve("first")).exists();
        assertThat(dir.resolve("after-first")).doesNotExist();
    }

    @Test
    void shouldRejectAnUnknownAction() {
        assertThatThrownBy(() -> FailPoints.parse("promote:explode")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("explode");
        assertThat(FailPoints.parse(" a:halt, b ")).containsEntry("a", "halt").containsEntry("b", "pause");
    }

    @Test
    void shouldDoNothingAtAPointNobodyArmed() {
        FailPoints.hit("anything"); // returns: this JVM has no fail points armed
        assertThat(System.getProperty(FailPoints.PROPERTY)).isNull();
    }
}
