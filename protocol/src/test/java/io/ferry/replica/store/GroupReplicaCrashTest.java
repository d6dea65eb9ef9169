package io.ferry.replica.store;

import static io.ferry.replica.store.ReplicaAssertions.assertReplicasAt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.testing.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A receiver killed with SIGKILL while it appends and applies loses nothing it reported durable. */
class GroupReplicaCrashTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void shouldKeepEverythingReportedDurableAndCatchUpTheReplicasAfterKill9() throws Exception {
        Path dataDir = dir.resolve("data");
        Path log = dir.resolve("child.log");
        long reportedBeforeKill;
        try (ChildJvm child = ChildJvm.start(log, GroupReplicaCrashChild.class.getName(), dataDir.toString())) {
            await().atMost(WAIT).until(() -> lastReported(log) >= 150 || !child.isAlive());
            assertThat(child.isAlive()).as("child is running; its log:%n%s", read(log)).isTrue();
            child.kill9();
            reportedBeforeKill = lastReported(log);
        }
        assertReportsInOrder(log);

        try (GroupReplica replica = GroupReplica.open(dataDir, DeltaWorkload.GROUP, () -> 0L,
                GroupReplicaCrashChild.OPTIONS)) {
            long durable = replica.durableSeq();
            assertThat(durable).as("durable seq after the kill").isGreaterThanOrEqualTo(reportedBeforeKill);
            assertThat(durable % DeltaWorkload.RECORDS_PER_DELTA).as("a delta boundary").isZero();
            assertThat(replica.receivedSeq()).isEqualTo(durable);
            assertThat(replica.awaitApplied(durable, WAIT)).isTrue();
            assertThat(replica.failure()).isNull();
            assertReplicasAt(replica, durable);
            long oldest = replica.oldestRecoverableSeq();
            assertThat(oldest).as("the undo log reaches back over the deltas replayed after the kill")
                    .isLessThan(durable);
            UndoRollbackTest.assertImagesAt(UndoRollbackTest.imagesAt(replica, oldest), oldest);

            replica.attachVolumes(DeltaWorkload.VOLUMES);
            DeltaWorkload workload = new DeltaWorkload();
            List<Long> reports = new CopyOnWriteArrayList<>();
            long last = DeltaWorkload.lastSeqOfDeltaFrom(durable + 1);
            replica.append(workload.body(durable + 1, last), durable + 1, last, 0, reports::add);
            assertThat(replica.awaitApplied(last, WAIT)).isTrue();
            assertThat(reports).containsExactly(last);
            assertReplicasAt(replica, last);
        }
    }

    private static long lastReported(Path log) throws IOException {
        List<Long> reports = reports(log);
        return reports.isEmpty() ? 0 : reports.get(reports.size() - 1);
    }

    private static void assertReportsInOrder(Path log) throws IOException {
        assertThat(reports(log)).as("onDurable values in call order").isSorted();
    }

    /** The values of the complete {@code durable <seq>} lines (the kill may cut the last line short). */
    private static List<Long> reports(Path log) throws IOException {
        String content = read(log);
        String complete = content.substring(0, content.lastIndexOf('\n') + 1);
        List<Long> values = new ArrayList<>();
        for (String line : complete.split("\n")) {
            if (line.startsWith("durable ")) {
                values.add(Long.parseLong(line.substring("durable ".length()).trim()));
            }
        }
        return values;
    }

    private static String read(Path log) throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }
}
