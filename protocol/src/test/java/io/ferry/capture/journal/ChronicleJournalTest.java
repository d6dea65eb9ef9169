package io.ferry.capture.journal;

import static io.ferry.capture.journal.JournalTestRecords.SMALL_SEGMENT_BYTES;
import static io.ferry.capture.journal.JournalTestRecords.assertPayload;
import static io.ferry.capture.journal.JournalTestRecords.payload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChronicleJournalTest {
    private static final int RECORD_BYTES = 4096;
    private static final ChronicleJournal.Options SMALL = new ChronicleJournal.Options(SMALL_SEGMENT_BYTES);

    @TempDir
    Path dir;

    private ChronicleJournal journal;

    @AfterEach
    void closeJournal() {
        if (journal != null) {
            journal.close();
        }
    }

    private void appendWrites(long fromSeq, long toSeq) {
        for (long seq = fromSeq; seq <= toSeq; seq++) {
            journal.append("vol-" + (seq % 3), seq, seq * RECORD_BYTES, RECORD_BYTES, 1000 + seq, Journal.WRITE,
                    payload(seq, RECORD_BYTES));
        }
    }

    private List<Path> segmentDirs() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".cq4")).sorted().collect(Collectors.toList());
        }
    }

    private static void assertReadsInOrder(JournalReader reader, long fromSeq, long toSeq) {
        JournalEntry entry = new JournalEntry();
        for (long seq = fromSeq; seq <= toSeq; seq++) {
            assertThat(reader.next(entry)).as("record %d present", seq).isTrue();
            assertThat(entry.seq()).isEqualTo(seq);
            assertThat(entry.volume()).isEqualTo("vol-" + (seq % 3));
            assertThat(entry.offset()).isEqualTo(seq * RECORD_BYTES);
            assertThat(entry.captureNanos()).isEqualTo(1000 + seq);
            assertThat(entry.type()).isEqualTo(Journal.WRITE);
            assertPayload(entry, RECORD_BYTES);
        }
    }

    @Test
    void shouldRoundTripEveryRecordType() {
        journal = ChronicleJournal.open(dir, "db");
        ByteBuffer data = payload(1, 8192);
        data.position(0);
        journal.append("db-data", 1, 65536, 8192, 111, Journal.WRITE, data);
        journal.append("db-log", 2, 1L << 40, 1L << 30, 222, Journal.WRITE_ZEROES, null);
        journal.append("db-data", 3, 4096, 12288, 333, Journal.TRIM, null);
        ByteBuffer big = payload(4, ChronicleJournal.MAX_PAYLOAD_BYTES);
        journal.append("db-data", 4, 0, ChronicleJournal.MAX_PAYLOAD_BYTES, 444, Journal.WRITE, big);

        assertThat(data.position()).as("append leaves the buffer position").isZero();
        assertThat(journal.lastSeq()).isEqualTo(4);
        assertThat(journal.firstSeq()).isEqualTo(1);
        try (JournalReader reader = journal.reader(1)) {
            JournalEntry e = new JournalEntry();
            assertThat(reader.next(e)).isTrue();
            assertThat(List.of(e.volume(), e.seq(), e.offset(), e.length(), e.captureNanos(), e.type()))
                    .containsExactly("db-data", 1L, 65536L, 8192L, 111L, Journal.WRITE);
            assertPayload(e, 8192);
            assertThat(reader.next(e)).isTrue();
            assertThat(List.of(e.volume(), e.seq(), e.offset(), e.length(), e.captureNanos(), e.type()))
                    .containsExactly("db-log", 2L, 1L << 40, 1L << 30, 222L, Journal.WRITE_ZEROES);
            assertThat(e.data().remaining()).isZero();
            assertThat(reader.next(e)).isTrue();
            assertThat(List.of(e.volume(), e.seq(), e.offset(), e.length(), e.captureNanos(), e.type()))
                    .containsExactly("db-data", 3L, 4096L, 12288L, 333L, Journal.TRIM);
            assertThat(reader.next(e)).isTrue();
            assertThat(e.seq()).isEqualTo(4);
            assertPayload(e, ChronicleJournal.MAX_PAYLOAD_BYTES);
            assertThat(reader.next(e)).isFalse();
        }
    }

    @Test
    void shouldRejectRecordsThatBreakTheContract() {
        journal = ChronicleJournal.open(dir, "db");
        journal.append("v", 1, 0, 0, 0, Journal.TRIM, null);
        assertThatThrownBy(() -> journal.append("v", 3, 0, 0, 0, Journal.TRIM, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seq 3")
                .hasMessageContaining("must be 2");
        assertThatThrownBy(() -> journal.append("v", 1, 0, 0, 0, Journal.TRIM, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> journal.append("v", 2, 0, 10, 0, Journal.WRITE, ByteBuffer.allocate(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exactly");
        assertThatThrownBy(() -> journal.append("v", 2, 0, ChronicleJournal.MAX_PAYLOAD_BYTES + 1L, 0, Journal.WRITE,
                ByteBuffer.allocate(1))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
        assertThatThrownBy(() -> journal.append("v", 2, 0, 0, 0, (byte) 9, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("type 9");
        assertThat(journal.lastSeq()).isEqualTo(1);
        journal.append("v", 2, 0, 0, 0, Journal.TRIM, null);
        assertThat(journal.lastSeq()).isEqualTo(2);
    }

    @Test
    void shouldReadFromAnySeqAfterSegmentRolls() throws IOException {
        journal = ChronicleJournal.open(dir, "db", SMALL);
        appendWrites(1, 200);
        assertThat(segmentDirs()).hasSizeGreaterThan(5);
        for (long from : new long[] {1, 2, 17, 18, 19, 63, 100, 199, 200}) {
            try (JournalReader reader = journal.reader(from)) {
                assertReadsInOrder(reader, from, 200);
                assertThat(reader.next(new JournalEntry())).isFalse();
            }
        }
    }

    @Test
    void shouldTailRecordsAppendedLaterAcrossSegments() throws Exception {
        journal = ChronicleJournal.open(dir, "db", SMALL);
        try (JournalReader reader = journal.reader(1)) {
            JournalEntry entry = new JournalEntry();
            assertThat(reader.next(entry)).isFalse();
            appendWrites(1, 1);
            assertReadsInOrder(reader, 1, 1);
            assertThat(reader.next(entry)).isFalse();
            appendWrites(2, 60);
            assertReadsInOrder(reader, 2, 60);
            assertThat(reader.next(entry)).isFalse();
        }
        try (JournalReader atEnd = journal.reader(61)) {
            assertThat(atEnd.next(new JournalEntry())).isFalse();
            appendWrites(61, 61);
            assertReadsInOrder(atEnd, 61, 61);
        }
    }

    @Test
    void shouldTailConcurrentAppendsInOrder() throws Exception {
        journal = ChronicleJournal.open(dir, "db", SMALL);
        long last = 1500;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (JournalReader reader = journal.reader(1)) {
            Future<?> writer = pool.submit(() -> appendWrites(1, last));
            Future<?> tail = pool.submit(() -> {
                JournalEntry entry = new JournalEntry();
                long expected = 1;
                while (expected <= last) {
                    if (reader.next(entry)) {
                        assertThat(entry.seq()).isEqualTo(expected);
                        assertPayload(entry, RECORD_BYTES);
                        expected++;
                    } else {
                        Thread.onSpinWait();
                    }
                }
                return null;
            });
            writer.get(60, TimeUnit.SECONDS);
            tail.get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void shouldReleaseWholeSegmentsOnlyAndMoveFirstSeq() throws IOException {
        journal = ChronicleJournal.open(dir, "db", SMALL);
        appendWrites(1, 200);
        List<Path> before = segmentDirs();
        long secondSegmentFirst = journal.segmentFirstSeqs()[1];

        journal.release(secondSegmentFirst - 2);
        assertThat(segmentDirs()).as("first segment still holds an unreleased record").isEqualTo(before);
        assertThat(journal.firstSeq()).isEqualTo(1);

        journal.release(secondSegmentFirst - 1);
        assertThat(segmentDirs()).isEqualTo(before.subList(1, before.size()));
        assertThat(journal.firstSeq()).isEqualTo(secondSegmentFirst);
        try (JournalReader reader = journal.reader(secondSegmentFirst)) {
            assertReadsInOrder(reader, secondSegmentFirst, 200);
        }

        journal.release(200);
        List<Path> after = segmentDirs();
        assertThat(after).as("the segment being appended to stays").containsExactly(before.get(before.size() - 1));
        long currentFirst = journal.segmentFirstSeqs()[0];
        assertThat(journal.firstSeq()).isEqualTo(currentFirst);
        appendWrites(201, 202);
        try (JournalReader reader = journal.reader(currentFirst)) {
            assertReadsInOrder(reader, currentFirst, 202);
        }
    }

    @Test
    void shouldRejectReaderBelowFirstSeqOrAboveNextSeq() {
        journal = ChronicleJournal.open(dir, "db", SMALL);
        appendWrites(1, 100);
        journal.release(60);
        long first = journal.firstSeq();
        assertThat(first).isGreaterThan(1);
        assertThatThrownBy(() -> journal.reader(first - 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("group db")
                .hasMessageContaining("seq " + (first - 1))
                .hasMessageContaining("released")
                .hasMessageContaining(first + "..100");
        assertThatThrownBy(() -> journal.reader(102))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not appended yet");
    }

    @Test
    void shouldRecoverLastSeqOnReopenAndContinue() {
        journal = ChronicleJournal.open(dir, "db", SMALL);
        appendWrites(1, 90);
        journal.release(40);
        long first = journal.firstSeq();
        journal.close();

        journal = ChronicleJournal.open(dir, "db", SMALL);
        assertThat(journal.lastSeq()).isEqualTo(90);
        assertThat(journal.firstSeq()).isEqualTo(first);
        assertThatThrownBy(() -> journal.append("v", 90, 0, 0, 0, Journal.TRIM, null))
                .isInstanceOf(IllegalArgumentException.class);
        appendWrites(91, 120);
        try (JournalReader reader = journal.reader(first)) {
            assertReadsInOrder(reader, first, 120);
        }
    }

    @Test
    void shouldRecoverEmptyJournalAtSeqOne() {
        journal = ChronicleJournal.open(dir, "db");
        journal.close();
        journal = ChronicleJournal.open(dir, "db");
        assertThat(journal.lastSeq()).isZero();
        assertThat(journal.firstSeq()).isEqualTo(1);
        // Nothing but Chronicle's metadata: a file is created by the first append.
        assertThat(journal.bytesOnDisk()).isLessThan(1L << 20);
    }

    @Test
    void shouldRefuseAnotherGroupsDirectoryAndASecondOpen() {
        journal = ChronicleJournal.open(dir, "db");
        assertThatThrownBy(() -> ChronicleJournal.open(dir, "db"))
                .isInstanceOf(JournalException.class).hasMessageContaining("already open");
        journal.close();
        journal = null;
        assertThatThrownBy(() -> ChronicleJournal.open(dir, "web"))
                .isInstanceOf(JournalException.class).hasMessageContaining("group=db");
    }

    @Test
    void shouldGrowAndShrinkBytesOnDisk() {
        journal = ChronicleJournal.open(dir, "db", SMALL);
        appendWrites(1, 1);
        long one = journal.bytesOnDisk();
        assertThat(one).isGreaterThan(RECORD_BYTES);
        appendWrites(2, 200);
        long full = journal.bytesOnDisk();
        assertThat(full).isGreaterThanOrEqualTo(one + 199L * RECORD_BYTES);
        journal.release(150);
        long released = journal.bytesOnDisk();
        assertThat(released).isLessThan(full);
        journal.close();
        journal = ChronicleJournal.open(dir, "db", SMALL);
        assertThat(journal.bytesOnDisk()).isEqualTo(released);
    }

    @Test
    void shouldSyncConcurrentlyWithAppends() throws Exception {
        journal = ChronicleJournal.open(dir, "db", SMALL);
        AtomicBoolean appending = new AtomicBoolean(true);
        CountDownLatch firstSync = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Integer> syncer = pool.submit(() -> {
                int syncs = 0;
                while (appending.get() || syncs == 0) {
                    journal.sync();
                    syncs++;
                    firstSync.countDown();
                }
                return syncs;
            });
            Future<?> writer = pool.submit(() -> {
                firstSync.await();
                appendWrites(1, 400);
                appending.set(false);
                return null;
            });
            writer.get(60, TimeUnit.SECONDS);
            assertThat(syncer.get(60, TimeUnit.SECONDS)).isPositive();
        } finally {
            appending.set(false);
            pool.shutdownNow();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
        journal.sync();
        journal.release(200);
        journal.sync();
        try (JournalReader reader = journal.reader(journal.firstSeq())) {
            assertReadsInOrder(reader, journal.firstSeq(), 400);
        }
    }
}
