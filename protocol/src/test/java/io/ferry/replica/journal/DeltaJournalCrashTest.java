package io.ferry.replica.journal;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.testing.ChildJvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** A record torn by a writer that died never surfaces, and the journal continues after the last whole one. */
class DeltaJournalCrashTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"same", "fresh"})
    void shouldNotSurfaceARecordTornByAWriterThatDied(String segment) throws Exception {
        Path journalDir = dir.resolve("journal");
        Path log = dir.resolve("child.log");
        try (ChildJvm child = ChildJvm.start(log, TornRecordChild.class.getName(), journalDir.toString(), "6", segment)) {
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> !child.isAlive());
        }
        assertThat(Files.readString(log, StandardCharsets.UTF_8)).contains("torn");

        try (DeltaJournal journal = DeltaJournal.open(journalDir, "g", DeltaJournalTest.SMALL)) {
            assertThat(journal.lastSeq()).isEqualTo(24);
            try (DeltaJournalReader tail = journal.reader(25)) {
                DeltaRecord record = new DeltaRecord();
                assertThat(tail.next(record, Long.MAX_VALUE)).isFalse();
                DeltaJournalTest.appendRecords(journal, 2);
                assertThat(tail.next(record, Long.MAX_VALUE)).isTrue();
                DeltaJournalTest.assertRecord(record, 25);
                assertThat(tail.next(record, Long.MAX_VALUE)).isTrue();
                DeltaJournalTest.assertRecord(record, 29);
                assertThat(tail.next(record, Long.MAX_VALUE)).isFalse();
            }
        }
        try (DeltaJournal reopened = DeltaJournal.open(journalDir, "g", DeltaJournalTest.SMALL);
                DeltaJournalReader reader = reopened.reader(1)) {
            assertThat(reopened.lastSeq()).isEqualTo(32);
            DeltaRecord record = new DeltaRecord();
            for (long first = 1; first <= 29; first += DeltaJournalTest.SPAN) {
                assertThat(reader.next(record, Long.MAX_VALUE)).isTrue();
                DeltaJournalTest.assertRecord(record, first);
            }
            assertThat(reader.next(record, Long.MAX_VALUE)).isFalse();
        }
    }
}
