package io.ferry.receiver.store;

import static io.ferry.receiver.store.ReplicaAssertions.assertReplicasAt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.ferry.testing.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 of a receiver around a promote: the group reopens either still replicating or fully promoted. */
class PromoteCrashTest {
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final long TARGET_SEQ = 600;

    @TempDir
    Path dir;

    @Test
    void shouldReopenEitherReplicatingOrFullyPromotedWhenKilledAsThePromoteStarts() throws Exception {
        Path dataDir = dir.resolve("data");
        Path log = dir.resolve("child.log");
        try (ChildJvm child = start(dataDir, log)) {
            await().atMost(WAIT).until(() -> read(log).contains("promoting") || !child.isAlive());
            child.kill9();
        }
        String output = read(log);
        long generationBefore = value(output, "generation ");
        long seq = value(output, "promoting ");
        try (GroupReplica replica = GroupReplica.open(dataDir, DeltaWorkload.GROUP, () -> 0L,
                GroupReplicaCrashChild.OPTIONS)) {
            assertThat(replica.appliedSeq()).isEqualTo(seq);
            assertReplicasAt(replica, seq);
            if (replica.isPromoted()) {
                assertThat(replica.generationId()).isNotEqualTo(generationBefore);
                if (output.contains("promoted ")) {
                    assertThat(replica.generationId()).isEqualTo(value(output, "promoted "));
                }
            } else {
                assertThat(output).as("the promote was reported done, so it must be durable").doesNotContain("promoted ");
                assertThat(replica.generationId()).isEqualTo(generationBefore);
                replica.attachVolumes(DeltaWorkload.VOLUMES);
                long first = seq + 1;
                long last = DeltaWorkload.lastSeqOfDeltaFrom(first);
                replica.append(new DeltaWorkload().body(first, last), first, last, 0, durable -> {
                });
                assertThat(replica.awaitApplied(last, WAIT)).as("a group still replicating takes deltas").isTrue();
            }
        }
    }

    @Test
    void shouldReopenPromotedWithTheNewGenerationWhenKilledAfterThePromote() throws Exception {
        Path dataDir = dir.resolve("data");
        Path log = dir.resolve("child.log");
        try (ChildJvm child = start(dataDir, log)) {
            await().atMost(WAIT).until(() -> read(log).contains("promoted ") || !child.isAlive());
            child.kill9();
        }
        String output = read(log);
        long seq = value(output, "promoting ");
        try (GroupReplica replica = GroupReplica.open(dataDir, DeltaWorkload.GROUP, () -> 0L,
                GroupReplicaCrashChild.OPTIONS)) {
            assertThat(replica.isPromoted()).isTrue();
            assertThat(replica.generationId()).isEqualTo(value(output, "promoted "));
            assertThat(replica.appliedSeq()).isEqualTo(seq);
            assertThat(replica.durableSeq()).isEqualTo(seq);
            assertReplicasAt(replica, seq);
            long first = seq + 1;
            long last = DeltaWorkload.lastSeqOfDeltaFrom(first);
            assertThatThrownBy(() -> replica.append(new DeltaWorkload().body(first, last), first, last, 0,
                    durable -> {
                    })).isInstanceOf(IllegalStateException.class).hasMessageContaining("promoted");
        }
    }

    @Test
    void shouldReopenEitherReplicatingOrPromotedAtThePointWhenKilledDuringAPromoteToAnEarlierPoint() throws Exception {
        Path dataDir = dir.resolve("data");
        Path log = dir.resolve("child.log");
        try (ChildJvm child = ChildJvm.start(log, PromoteCrashChild.class.getName(), dataDir.toString(),
                String.valueOf(TARGET_SEQ), "oldest")) {
            await().atMost(WAIT).until(() -> read(log).lines().anyMatch(l -> l.startsWith("point "))
                    || !child.isAlive());
            child.kill9();
        }
        String output = read(log);
        long seq = value(output, "promoting ");
        long point = value(output, "point ");
        assertThat(point).as("a point before the applied seq").isLessThan(seq);
        try (GroupReplica replica = GroupReplica.open(dataDir, DeltaWorkload.GROUP, () -> 0L,
                GroupReplicaCrashChild.OPTIONS)) {
            if (replica.isPromoted()) {
                assertThat(replica.appliedSeq()).as("promoted at the point, never in between").isEqualTo(point);
                assertReplicasAt(replica, point);
            } else {
                assertThat(output).doesNotContain("promoted ");
                assertThat(replica.appliedSeq()).isEqualTo(seq);
                assertReplicasAt(replica, seq);
                assertThat(replica.promoteTo(point, 2)).isNotZero();
                assertReplicasAt(replica, point);
            }
        }
    }

    private static ChildJvm start(Path dataDir, Path log) throws IOException {
        return ChildJvm.start(log, PromoteCrashChild.class.getName(), dataDir.toString(), String.valueOf(TARGET_SEQ));
    }

    private static long value(String output, String prefix) {
        for (String line : output.split("\n")) {
            if (line.startsWith(prefix)) {
                return Long.parseLong(line.substring(prefix.length()).trim());
            }
        }
        throw new AssertionError("no line \"" + prefix + "...\" in the child's output:\n" + output);
    }

    private static String read(Path log) throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }
}
