package io.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordLogTest {
    private static final RecordLog.Options SMALL = new RecordLog.Options(4 << 10);

    @TempDir
    Path dir;

    private RecordLog open() {
        return RecordLog.open(dir, "test-log", "g", "test log of group g", SMALL);
    }

    /** Appends records of {@code span} seqs each, body: the first seq and 500 filler bytes. */
    private static void append(RecordLog log, int records, int span) {
        for (int i = 0; i < records; i++) {
            long first = log.lastSeq() + 1;
            log.beginAppend(first, first + span - 1).writeLong(first * 7).write(new byte[500], 0, 500);
            log.commitAppend();
        }
    }

    private long cycleFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".cq4")).count();
        }
    }

    @Test
    void shouldReadFromAnySeqAcrossCyclesAndAfterReopen() throws IOException {
        try (RecordLog log = open()) {
            append(log, 60, 1);
            assertThat(log.lastSeq()).isEqualTo(60);
            assertThat(log.fileCount()).isGreaterThan(3);
            for (long from : new long[] {1, 2, 17, 33, 60}) {
                try (LogReader reader = log.reader(from)) {
                    for (long seq = from; seq <= 60; seq++) {
                        assertThat(reader.next()).isTrue();
                        assertThat(reader.firstSeq()).isEqualTo(seq);
                        assertThat(reader.body().readLong()).isEqualTo(seq * 7);
                    }
                    assertThat(reader.next()).isFalse();
                }
            }
        }
        assertThat(cycleFiles()).isGreaterThan(3);
        try (RecordLog log = open()) {
            assertThat(log.lastSeq()).isEqualTo(60);
            assertThat(log.firstSeq()).isEqualTo(1);
            try (LogReader tail = log.reader(61)) {
                assertThat(tail.next()).isFalse();
                append(log, 1, 1);
                assertThat(tail.next()).isTrue();
                assertThat(tail.firstSeq()).isEqualTo(61);
            }
            try (LogReader reader = log.reader(59)) {
                for (long seq = 59; seq <= 61; seq++) {
                    assertThat(reader.next()).isTrue();
                    assertThat(reader.firstSeq()).isEqualTo(seq);
                }
            }
        }
    }

    @Test
    void shouldFindTheRecordHoldingASeqOfARange() {
        try (RecordLog log = open()) {
            append(log, 40, 3);
            try (LogReader reader = log.reader(50)) {
                assertThat(reader.next()).isTrue();
                assertThat(reader.firstSeq()).isEqualTo(49);
                assertThat(reader.lastSeq()).isEqualTo(51);
                assertThat(reader.next(53)).isFalse();
                assertThat(reader.next(54)).isTrue();
                assertThat(reader.firstSeq()).isEqualTo(52);
            }
        }
    }

    @Test
    void shouldReadNewestFirst() {
        try (RecordLog log = open()) {
            append(log, 30, 2);
            try (LogReader reader = log.newestFirst()) {
                for (long last = 60; last > 0; last -= 2) {
                    assertThat(reader.next()).isTrue();
                    assertThat(reader.lastSeq()).isEqualTo(last);
                    assertThat(reader.body().readLong()).isEqualTo((last - 1) * 7);
                }
                assertThat(reader.next()).isFalse();
            }
        }
    }

    /**
     * A reader of the first seq opened while the first record is being committed: the log then
     * shows its first cycle before its last seq moves (seen as a shipper failing at its first
     * HELLO_ACK under a running writer). The reader must start at that first record.
     */
    @Test
    void shouldReadTheFirstRecordWhenOpenedWhileItIsCommitted() throws Exception {
        for (int round = 0; round < 50; round++) {
            Path roundDir = java.nio.file.Files.createDirectories(dir.resolve("r" + round));
            try (RecordLog log = RecordLog.open(roundDir, "test-log", "g", "test log of group g", SMALL)) {
                Thread writer = new Thread(() -> append(log, 20, 1));
                writer.start();
                try {
                    while (log.lastSeq() == 0) {
                        try (LogReader reader = log.reader(log.lastSeq() + 1)) {
                            if (reader.next()) {
                                assertThat(reader.firstSeq()).isEqualTo(1);
                            }
                        }
                    }
                } finally {
                    writer.join();
                }
                try (LogReader reader = log.reader(1)) {
                    assertThat(reader.next()).isTrue();
                    assertThat(reader.firstSeq()).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void shouldReadNothingNewestFirstFromALogWithoutRecords() {
        try (RecordLog log = open(); LogReader reader = log.newestFirst()) {
            assertThat(reader.next()).isFalse();
        }
        try (RecordLog log = open()) {
            append(log, 3, 1);
            log.startOver(log.lastSeq());
            try (LogReader reader = log.newestFirst()) {
                assertThat(reader.next()).isFalse();
            }
        }
    }

    @Test
    void shouldReleaseWholeFilesAndFinishACutShortRelease() throws IOException {
        try (RecordLog log = open()) {
            append(log, 60, 1);
            long files = cycleFiles();
            long bytes = log.bytesOnDisk();
            assertThat(log.release(0)).isZero();
            assertThat(log.release(30)).isPositive();
            assertThat(log.firstSeq()).isGreaterThan(1).isLessThanOrEqualTo(31);
            assertThat(cycleFiles()).isLessThan(files);
            assertThat(log.bytesOnDisk()).isLessThan(bytes);
            assertThatThrownBy(() -> log.reader(1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("released");
            try (LogReader reader = log.reader(31)) {
                assertThat(reader.next()).isTrue();
                assertThat(reader.firstSeq()).isEqualTo(31);
            }
        }
        long firstBefore;
        try (RecordLog log = open()) {
            firstBefore = log.firstSeq();
        }
        Path oldest;
        try (Stream<Path> s = Files.list(dir)) {
            oldest = s.filter(p -> p.getFileName().toString().endsWith(".cq4")).sorted().findFirst().orElseThrow();
        }
        Files.move(oldest, oldest.resolveSibling(oldest.getFileName() + ".released"));
        try (RecordLog log = open()) {
            assertThat(log.lastSeq()).isEqualTo(60);
            assertThat(log.firstSeq()).isGreaterThan(firstBefore);
            append(log, 1, 1);
            assertThat(log.release(1000)).isPositive();
            assertThat(log.fileCount()).isEqualTo(1);
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.filter(p -> p.getFileName().toString().endsWith(".released"))).isEmpty();
        }
    }

    @Test
    void shouldDeleteAReleasedFileOnlyOnceNoReaderHoldsIt() throws IOException {
        try (RecordLog log = open()) {
            append(log, 60, 1);
            Path oldest;
            try (Stream<Path> s = Files.list(dir)) {
                oldest = s.filter(p -> p.getFileName().toString().endsWith(".cq4")).sorted().findFirst().orElseThrow();
            }
            try (LogReader reader = log.reader(1)) {
                assertThat(reader.next()).isTrue();
                long secondFile = log.fileFirstSeqs()[1];
                assertThat(secondFile).isGreaterThan(2);
                assertThat(log.release(secondFile - 1)).isEqualTo(1);
                assertThat(log.firstSeq()).isEqualTo(secondFile);
                assertThat(oldest).as("held by the reader").exists();
                for (long seq = 2; seq <= 60; seq++) {
                    assertThat(reader.next()).isTrue();
                    assertThat(reader.firstSeq()).isEqualTo(seq);
                }
            }
            assertThat(oldest).as("deleted once Chronicle released it").doesNotExist();
        }
    }

    @Test
    void shouldRefuseAGapAnotherOwnerAndASecondOpen() throws IOException {
        try (RecordLog log = open()) {
            assertThatThrownBy(this::open).isInstanceOf(LogException.class).hasMessageContaining("already open");
            append(log, 60, 1);
        }
        assertThatThrownBy(() -> RecordLog.open(dir, "test-log", "other", "log", SMALL))
                .isInstanceOf(LogException.class).hasMessageContaining("group=g");
        Path middle;
        try (Stream<Path> s = Files.list(dir)) {
            middle = s.filter(p -> p.getFileName().toString().endsWith(".cq4")).sorted().skip(2).findFirst()
                    .orElseThrow();
        }
        Files.delete(middle);
        assertThatThrownBy(this::open).isInstanceOf(LogException.class).hasMessageContaining("gap");
    }

    @Test
    void shouldStartOverAfterASeq() {
        try (RecordLog log = open()) {
            append(log, 20, 1);
            log.startOver(100);
            assertThat(log.lastSeq()).isEqualTo(100);
            assertThat(log.firstSeq()).isEqualTo(101);
            assertThat(log.bytesOnDisk()).isZero();
            append(log, 2, 1);
            try (LogReader reader = log.reader(101)) {
                assertThat(reader.next()).isTrue();
                assertThat(reader.firstSeq()).isEqualTo(101);
            }
        }
    }
}
