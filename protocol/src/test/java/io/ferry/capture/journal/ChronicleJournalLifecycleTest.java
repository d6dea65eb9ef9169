package io.ferry.capture.journal;

import static io.ferry.capture.journal.JournalTestRecords.SMALL_SEGMENT_BYTES;
import static io.ferry.capture.journal.JournalTestRecords.payload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChronicleJournalLifecycleTest {

    @TempDir
    Path dir;

    private static Set<String> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                // the JDK's process reaper pool: Chronicle's native loader runs `ldconfig -p`
                // once per JVM; the JDK retires that thread after it idles
                .filter(t -> !t.getName().startsWith("process reaper"))
                .map(t -> t.getName() + "#" + t.getId())
                .collect(Collectors.toSet());
    }

    @Test
    void shouldLeaveNoThreadRunningAfterClose() {
        Set<String> before = liveThreads();
        try (ChronicleJournal journal = ChronicleJournal.open(dir, "db",
                new ChronicleJournal.Options(SMALL_SEGMENT_BYTES))) {
            for (long seq = 1; seq <= 300; seq++) {
                journal.append("v", seq, 0, 4096, 0, Journal.WRITE, payload(seq, 4096));
            }
            journal.sync();
            journal.release(150);
            try (JournalReader reader = journal.reader(journal.firstSeq())) {
                JournalEntry entry = new JournalEntry();
                while (reader.next(entry)) {
                    assertThat(entry.seq()).isPositive();
                }
            }
        }
        await().pollInSameThread().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Set<String> leftover = liveThreads();
            leftover.removeAll(before);
            assertThat(leftover).as("threads started by the journal").isEmpty();
        });
        assertThat(liveThreads()).as("Chronicle threads (named with ~)").noneMatch(name -> name.contains("~"));
    }
}
