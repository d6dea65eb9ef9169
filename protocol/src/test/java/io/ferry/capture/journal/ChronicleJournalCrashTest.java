package io.ferry.capture.journal;

import static io.ferry.capture.journal.JournalTestRecords.CRASH_RECORD_BYTES;
import static io.ferry.capture.journal.JournalTestRecords.SMALL_SEGMENT_BYTES;
import static io.ferry.capture.journal.JournalTestRecords.assertPayload;
import static io.ferry.capture.journal.JournalTestRecords.payload;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A writer killed mid-append leaves a journal that reopens at its last complete record. */
class ChronicleJournalCrashTest {
    private static final ChronicleJournal.Options SMALL = new ChronicleJournal.Options(SMALL_SEGMENT_BYTES);

    @TempDir
    Path dir;

    private static Process startChild(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-D") || arg.startsWith("--add-") || arg.startsWith("-Xmx")) {
                command.add(arg);
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(JournalCrashChild.class.getName());
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    @Test
    void shouldReopenAtLastCompleteRecordAfterKill9MidAppend() throws Exception {
        Process child = startChild("loop", dir.toString());
        long lastReported = 0;
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
            String line;
            while (lastReported < 40 && (line = out.readLine()) != null) {
                lastReported = Long.parseLong(line.trim());
            }
            child.destroyForcibly(); // SIGKILL while it keeps appending 256 KiB records
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(lastReported).as("child appended before the kill").isGreaterThanOrEqualTo(40);

        try (ChronicleJournal journal = ChronicleJournal.open(dir, "crash", SMALL)) {
            long last = journal.lastSeq();
            assertThat(last).isGreaterThanOrEqualTo(lastReported);
            journal.append("vol", last + 1, 0, CRASH_RECORD_BYTES, 0, Journal.WRITE, payload(last + 1, CRASH_RECORD_BYTES));
            try (JournalReader reader = journal.reader(1)) {
                JournalEntry entry = new JournalEntry();
                for (long seq = 1; seq <= last + 1; seq++) {
                    assertThat(reader.next(entry)).isTrue();
                    assertThat(entry.seq()).isEqualTo(seq);
                    assertPayload(entry, CRASH_RECORD_BYTES);
                }
                assertThat(reader.next(entry)).isFalse();
            }
        }
    }

    @Test
    void shouldNotSurfaceADocumentTornByAProcessThatDied() throws Exception {
        Process child = startChild("torn", dir.toString(), "30");
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
            assertThat(out.readLine()).isEqualTo("torn");
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }

        try (ChronicleJournal journal = ChronicleJournal.open(dir, "crash", SMALL)) {
            assertThat(journal.lastSeq()).isEqualTo(30);
            try (JournalReader tail = journal.reader(31)) {
                JournalEntry entry = new JournalEntry();
                assertThat(tail.next(entry)).isFalse();
                journal.append("vol", 31, 0, CRASH_RECORD_BYTES, 0, Journal.WRITE, payload(31, CRASH_RECORD_BYTES));
                assertThat(tail.next(entry)).isTrue();
                assertThat(entry.seq()).isEqualTo(31);
                assertPayload(entry, CRASH_RECORD_BYTES);
                assertThat(tail.next(entry)).isFalse();
            }
        }
        try (ChronicleJournal reopened = ChronicleJournal.open(dir, "crash", SMALL)) {
            assertThat(reopened.lastSeq()).isEqualTo(31);
        }
    }
}
