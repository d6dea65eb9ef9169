package io.ferry.replica.store;

import static io.ferry.replica.store.ReplicaAssertions.assertReplicasAt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.ferry.failpoint.FailPoints;
import io.ferry.testing.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a receiver inside and after a promote, at fail points the child reaches on purpose:
 * the group reopens either still replicating or fully promoted, never in between.
 */
class PromoteCrashTest {
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final long TARGET_SEQ = 600;

    @TempDir
    Path dir;

    /**
     * Killed inside a promote to latest, with the replicas synced but the promoted state not yet
     * written (the fail point proves the kill landed there): the group reopens replicating at the
     * applied seq, with its old generation, and takes deltas again.
     */
    @Test
    void shouldReopenReplicatingWhenKilledInsideAPromoteToLatestBeforeItsStateIsWritten() throws Exception {
        Path dataDir = dir.resolve("data");
        Path log = dir.resolve("child.log");
        Path markers = dir.resolve("markers");
        try (ChildJvm child = ChildJvm.start(log, FailPoints.jvmOptions(Promotion.BEFORE_PROMOTED_STATE, "pause", markers),
                PromoteCrashChild.class.getName(), dataDir.toString(), String.valueOf(TARGET_SEQ))) {
            awaitMarker(child, markers.resolve(Promotion.BEFORE_PROMOTED_STATE), log);
            child.kill9();
        }
        String output = read(log);
        assertThat(output).as("killed inside the promote, so it never reported one").doesNotContain("promoted ");
        long generationBefore = value(output, "generation ");
        long seq = value(output, "promoting ");
        try (GroupReplica replica = GroupReplica.open(dataDir, DeltaWorkload.GROUP, () -> 0L,
                GroupReplicaCrashChild.OPTIONS)) {
            assertThat(replica.isPromoted()).as("no promoted state was written").isFalse();
            assertThat(replica.generationId()).isEqualTo(generationBefore);
            assertThat(replica.appliedSeq()).isEqualTo(seq);
            assertReplicasAt(replica, seq);
            replica.attachVolumes(DeltaWorkload.VOLUMES);
            long first = seq + 1;
            long last = DeltaWorkload.lastSeqOfDeltaFrom(first);
            replica.append(new DeltaWorkload().body(first, last), first, last, 0, durable -> {
            });
            assertThat(replica.awaitApplied(last, WAIT)).as("a group still replicating takes deltas").isTrue();
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

    /**
     * Killed inside a promote to an earlier point, at each of its two crash windows (intent
     * persisted, nothing rolled back yet; rolled back and synced, promoted state not written): the
     * reopened group finishes the promote and is promoted at exactly the point, never in between.
     */
    @ParameterizedTest
    @ValueSource(strings = {Promotion.INTENT_PERSISTED, Promotion.BEFORE_PROMOTED_STATE})
    void shouldFinishAPromoteToAnEarlierPointWhenKilledInsideIt(String failPoint) throws Exception {
        Path dataDir = dir.resolve("data");
        Path log = dir.resolve("child.log");
        Path markers = dir.resolve("markers");
        try (ChildJvm child = ChildJvm.start(log, FailPoints.jvmOptions(failPoint, "pause", markers),
                PromoteCrashChild.class.getName(), dataDir.toString(), String.valueOf(TARGET_SEQ), "oldest")) {
            awaitMarker(child, markers.resolve(failPoint), log);
            child.kill9();
        }
        String output = read(log);
        assertThat(output).doesNotContain("promoted ");
        long generationBefore = value(output, "generation ");
        long seq = value(output, "promoting ");
        long point = value(output, "point ");
        assertThat(point).as("a point before the applied seq").isLessThan(seq);
        try (GroupReplica replica = GroupReplica.open(dataDir, DeltaWorkload.GROUP, () -> 0L,
                GroupReplicaCrashChild.OPTIONS)) {
            assertThat(replica.isPromoted()).as("the persisted intent is finished on open").isTrue();
            assertThat(replica.generationId()).isNotEqualTo(generationBefore);
            assertThat(replica.appliedSeq()).as("promoted at the point, never in between").isEqualTo(point);
            assertReplicasAt(replica, point);
        }
    }

    private static void awaitMarker(ChildJvm child, Path marker, Path log) throws IOException {
        await().atMost(WAIT).until(() -> Files.exists(marker) || !child.isAlive());
        assertThat(child.isAlive()).as("the child reached the fail point; its output:%n%s", read(log)).isTrue();
        assertThat(Files.readString(marker).trim()).isEqualTo(Long.toString(child.pid()));
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
