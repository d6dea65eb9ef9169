package io.ferry.capture.bitmap;

import io.ferry.capture.journal.Journal;
import io.ferry.capture.journal.JournalEntry;
import io.ferry.capture.journal.JournalReader;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Marks journal records in a dirty map: what a fold, a fence and a host-crash recovery do with
 * the records the receiver may lack (or the DR copy never got). Runs on the thread that owns the
 * journal's appends (the pipeline thread, or start-up before the first write).
 */
public final class JournalMarks {

    /** What was marked: how many records, and the capture time of the first (0: none). */
    public record Marked(long records, long firstCaptureNanos) {
    }

    private JournalMarks() {
    }

    /**
     * Marks every record of {@code journal} from seq {@code fromSeq} (or its first, if later) to
     * its end in {@code map}, volumes named by index in {@code volumeNames}.
     *
     * @throws IllegalStateException for a record of a volume not in {@code volumeNames}
     */
    public static Marked mark(Journal journal, long fromSeq, List<String> volumeNames, DirtyMap map) {
        long from = Math.max(fromSeq, journal.firstSeq());
        if (from > journal.lastSeq()) {
            return new Marked(0, 0);
        }
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < volumeNames.size(); i++) {
            index.put(volumeNames.get(i), i);
        }
        JournalEntry entry = new JournalEntry();
        long records = 0;
        long first = 0;
        try (JournalReader reader = journal.reader(from)) {
            while (reader.next(entry)) {
                Integer v = index.get(entry.volume());
                if (v == null) {
                    throw new IllegalStateException("journal record " + entry.seq() + " of group " + journal.group()
                            + " names unknown volume " + entry.volume());
                }
                map.mark(v, entry.offset(), entry.length());
                if (records++ == 0) {
                    first = entry.captureNanos();
                }
            }
        }
        return new Marked(records, first);
    }
}
