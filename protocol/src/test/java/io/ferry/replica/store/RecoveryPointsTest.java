package io.ferry.replica.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecoveryPointsTest {
    private static final long SECOND = 1_000_000_000L;
    private static final RecoveryPoints.Policy POLICY = new RecoveryPoints.Policy(Duration.ofSeconds(5),
            Duration.ofSeconds(60));

    @TempDir
    Path dir;

    private final AtomicLong now = new AtomicLong(1_000 * SECOND);

    private RecoveryPoints open(long appliedSeq) throws IOException {
        return RecoveryPoints.open(dir, "db", POLICY, now::get, appliedSeq);
    }

    @Test
    void shouldTakeAtMostOneAutomaticPointPerInterval() throws IOException {
        RecoveryPoints points = open(0);
        points.onApplied(10);
        now.addAndGet(2 * SECOND);
        points.onApplied(20);
        now.addAndGet(3 * SECOND);
        points.onApplied(30);
        assertThat(points.list()).extracting(RecoveryPoints.Point::seq).containsExactly(10L, 30L);
        assertThat(points.list()).extracting(RecoveryPoints.Point::kind).containsOnly(RecoveryPoints.AUTO);
    }

    @Test
    void shouldRecordABookmarkOnlyOnceItsSeqIsAppliedAndIgnoreARepeat() throws IOException {
        RecoveryPoints points = open(0);
        points.onApplied(10);
        points.bookmark(15, "upgrade");
        assertThat(points.list()).extracting(RecoveryPoints.Point::kind).containsExactly(RecoveryPoints.AUTO);
        points.onApplied(20);
        points.bookmark(15, "upgrade");
        assertThat(points.list()).filteredOn(p -> p.kind().equals(RecoveryPoints.BOOKMARK))
                .singleElement().satisfies(p -> {
                    assertThat(p.seq()).isEqualTo(15);
                    assertThat(p.label()).isEqualTo("upgrade");
                });
    }

    @Test
    void shouldRecordABookmarkAtOnceWhenItsSeqIsAlreadyApplied() throws IOException {
        RecoveryPoints points = open(40);
        points.bookmark(40, "now");
        assertThat(points.list()).extracting(RecoveryPoints.Point::label).containsExactly("now");
    }

    @Test
    void shouldPruneOlderThanRetentionButKeepTheLatest() throws IOException {
        RecoveryPoints points = open(0);
        points.onApplied(10);
        now.addAndGet(30 * SECOND);
        points.onApplied(20);
        now.addAndGet(40 * SECOND);
        points.onApplied(30);
        assertThat(points.list()).extracting(RecoveryPoints.Point::seq).containsExactly(20L, 30L);
        now.addAndGet(600 * SECOND);
        points.bookmark(30, "late");
        assertThat(points.list()).extracting(RecoveryPoints.Point::label).containsExactly("late");
    }

    @Test
    void shouldReloadThePointsAndKeepIdsUniqueAfterReopen() throws IOException {
        RecoveryPoints points = open(0);
        points.onApplied(10);
        points.bookmark(10, "b");
        var before = points.list();
        RecoveryPoints reopened = open(10);
        assertThat(reopened.list()).isEqualTo(before);
        now.addAndGet(10 * SECOND);
        reopened.onApplied(20);
        assertThat(reopened.list()).extracting(RecoveryPoints.Point::id).doesNotHaveDuplicates().hasSize(3);
    }

    @Test
    void shouldKeepABookmarkReceivedButNotYetAppliedAcrossARestart() throws IOException {
        RecoveryPoints points = open(0);
        points.onApplied(10);
        points.bookmark(25, "before-crash");
        assertThat(points.list()).extracting(RecoveryPoints.Point::kind).containsExactly(RecoveryPoints.AUTO);

        RecoveryPoints reopened = open(10);
        assertThat(reopened.list()).extracting(RecoveryPoints.Point::kind).containsExactly(RecoveryPoints.AUTO);
        reopened.onApplied(30);
        assertThat(reopened.list()).filteredOn(p -> p.kind().equals(RecoveryPoints.BOOKMARK))
                .singleElement().satisfies(p -> {
                    assertThat(p.seq()).isEqualTo(25);
                    assertThat(p.label()).isEqualTo("before-crash");
                });
        RecoveryPoints again = open(30);
        assertThat(again.list()).filteredOn(p -> p.kind().equals(RecoveryPoints.BOOKMARK)).hasSize(1);
    }
}
