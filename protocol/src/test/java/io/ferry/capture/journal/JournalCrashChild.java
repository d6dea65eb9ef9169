package io.ferry.capture.journal;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Runs in a child JVM for {@link ChronicleJournalCrashTest}: appends records to a journal and
 * dies without closing it. Mode {@code loop} appends until killed, printing each seq once it is
 * appended; mode {@code torn} appends {@code count} records, then begins the next record and halts
 * in the middle of its body.
 */
public final class JournalCrashChild {
    private JournalCrashChild() {
    }

    public static void main(String[] args) {
        Path dir = Paths.get(args[1]);
        ChronicleJournal journal = ChronicleJournal.open(dir, "crash", new ChronicleJournal.Options(JournalTestRecords.SMALL_SEGMENT_BYTES));
        ByteBuffer data = ByteBuffer.allocateDirect(JournalTestRecords.CRASH_RECORD_BYTES);
        long seq = journal.lastSeq() + 1;
        if (args[0].equals("loop")) {
            while (true) {
                JournalTestRecords.fill(data, seq, JournalTestRecords.CRASH_RECORD_BYTES);
                journal.append("vol", seq, seq * 4096, JournalTestRecords.CRASH_RECORD_BYTES, seq, Journal.WRITE, data);
                System.out.println(seq);
                System.out.flush();
                seq++;
            }
        }
        int count = Integer.parseInt(args[2]);
        for (int i = 0; i < count; i++, seq++) {
            JournalTestRecords.fill(data, seq, JournalTestRecords.CRASH_RECORD_BYTES);
            journal.append("vol", seq, seq * 4096, JournalTestRecords.CRASH_RECORD_BYTES, seq, Journal.WRITE, data);
        }
        journal.log().beginAppend(seq, seq).writeLong(-1).write(new byte[100_000], 0, 100_000);
        System.out.println("torn");
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }
}
