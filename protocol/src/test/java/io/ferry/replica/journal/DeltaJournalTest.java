package io.ferry.replica.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Records are opaque bodies here: the journal never decodes them. Each record spans 4 seqs. */
class DeltaJournalTest {
    static final DeltaJournal.Options SMALL = new DeltaJournal.Options(4 << 10);
    static final int SPAN = 4;
    static final int BODY_BYTES = 1500;

    @TempDir
    Path dir;

    static ByteBuf body(long firstSeq) {
        ByteBuf body = Unpooled.buffer(BODY_BYTES);
        for (int i = 0; i < BODY_BYTES; i++) {
            body.writeByte((int) (firstSeq * 13 + i));
        }
        return body;
    }

    static void appendRecords(DeltaJournal journal, int count) {
        for (int i = 0; i < count; i++) {
            long first = journal.lastSeq() + 1;
            ByteBuf body = body(first);
            try {
                journal.append(first, first + SPAN - 1, first * 10, body);
            } finally {
                body.release();
            }
        }
    }

    static void assertRecord(DeltaRecord record, long firstSeq) {
        assertThat(record.firstSeq()).isEqualTo(firstSeq);
        assertThat(record.lastSeq()).isEqualTo(firstSeq + SPAN - 1);
        assertThat(record.captureNanos()).isEqualTo(firstSeq * 10);
        ByteBuf expected = body(firstSeq);
        try {
            assertThat(ByteBufUtil.equals(record.body(), expected)).as("body of record %d", firstSeq).isTrue();
        } finally {
            expected.release();
        }
    }

    @Test
    void shouldReadFromTheRecordContainingAnySeqAcrossSegments() {
        try (DeltaJournal journal = DeltaJournal.open(dir, "g", SMALL)) {
            appendRecords(journal, 20);
            journal.sync();
            assertThat(journal.lastSeq()).isEqualTo(80);
            assertThat(segmentCount()).isGreaterThan(3);

            try (DeltaJournalReader reader = journal.reader(47)) { // inside the record 45..48
                DeltaRecord record = new DeltaRecord();
                for (long first = 45; first <= 77; first += SPAN) {
                    assertThat(reader.next(record, Long.MAX_VALUE)).isTrue();
                    assertRecord(record, first);
                }
                assertThat(reader.next(record, Long.MAX_VALUE)).isFalse();
            }
        }
    }

    @Test
    void shouldNotReadPastTheGivenLastSeqAndTailNewRecords() {
        try (DeltaJournal journal = DeltaJournal.open(dir, "g", SMALL)) {
            appendRecords(journal, 3);
            try (DeltaJournalReader reader = journal.reader(1)) {
                DeltaRecord record = new DeltaRecord();
                assertThat(reader.next(record, 8)).isTrue();
                assertThat(reader.next(record, 8)).isTrue();
                assertThat(reader.next(record, 8)).as("record 9..12 is beyond 8").isFalse();
                assertThat(reader.next(record, 12)).isTrue();
                assertRecord(record, 9);
                assertThat(reader.next(record, Long.MAX_VALUE)).isFalse();
                appendRecords(journal, 10); // rolls segments under the reader
                for (long first = 13; first <= 49; first += SPAN) {
                    assertThat(reader.next(record, Long.MAX_VALUE)).isTrue();
                    assertRecord(record, first);
                }
            }
        }
    }

    @Test
    void shouldRefuseARecordThatDoesNotContinueTheJournal() {
        try (DeltaJournal journal = DeltaJournal.open(dir, "g", SMALL)) {
            appendRecords(journal, 1);
            ByteBuf body = body(9);
            try {
                assertThatThrownBy(() -> journal.append(9, 12, 0, body))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("must start at seq 5");
            } finally {
                body.release();
            }
        }
    }

    @Test
    void shouldReleaseWholeSegmentsAndRecoverAfterReopen() {
        try (DeltaJournal journal = DeltaJournal.open(dir, "g", SMALL)) {
            appendRecords(journal, 20);
            long before = segmentCount();
            journal.release(40);
            assertThat(segmentCount()).isLessThan(before);
            assertThat(journal.firstSeq()).isGreaterThan(1).isLessThanOrEqualTo(41);
            assertThatThrownBy(() -> journal.reader(1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("released");
        }
        try (DeltaJournal reopened = DeltaJournal.open(dir, "g", SMALL)) {
            assertThat(reopened.lastSeq()).isEqualTo(80);
            assertThat(reopened.lastCaptureNanos()).isEqualTo(77 * 10);
            assertThat(reopened.firstSeq()).isLessThanOrEqualTo(41);
            try (DeltaJournalReader reader = reopened.reader(41)) {
                DeltaRecord record = new DeltaRecord();
                assertThat(reader.next(record, Long.MAX_VALUE)).isTrue();
                assertRecord(record, 41);
            }
            appendRecords(reopened, 1);
            assertThat(reopened.lastSeq()).isEqualTo(84);
        }
    }

    @Test
    void shouldFinishAReleaseThatACrashCutShortInsteadOfSeeingAGap() throws IOException {
        Path oldest;
        try (DeltaJournal journal = DeltaJournal.open(dir, "g", SMALL)) {
            appendRecords(journal, 20);
            try (Stream<Path> entries = Files.list(dir)) {
                oldest = entries.filter(p -> p.getFileName().toString().endsWith(".cq4")).sorted().findFirst()
                        .orElseThrow();
            }
        }
        // A crash during release: the file was renamed aside but not deleted.
        Path tombstone = oldest.resolveSibling(oldest.getFileName() + ".released");
        Files.move(oldest, tombstone);

        try (DeltaJournal reopened = DeltaJournal.open(dir, "g", SMALL)) {
            assertThat(reopened.lastSeq()).isEqualTo(80);
            assertThat(reopened.firstSeq()).isGreaterThan(1);
            assertThat(tombstone).doesNotExist();
        }
    }

    @Test
    void shouldRefuseAJournalOfAnotherGroupOrOneOpenAlready() {
        try (DeltaJournal journal = DeltaJournal.open(dir, "g", SMALL)) {
            assertThat(journal.group()).isEqualTo("g");
            assertThatThrownBy(() -> DeltaJournal.open(dir, "g", SMALL)).isInstanceOf(JournalException.class)
                    .hasMessageContaining("already open");
        }
        assertThatThrownBy(() -> DeltaJournal.open(dir, "other", SMALL)).isInstanceOf(JournalException.class)
                .hasMessageContaining("group=g");
    }

    private long segmentCount() {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> p.getFileName().toString().endsWith(".cq4")).count();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
