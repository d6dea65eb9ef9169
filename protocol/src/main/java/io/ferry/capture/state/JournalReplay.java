package io.ferry.capture.state;

import io.ferry.capture.journal.Journal;
import io.ferry.capture.journal.JournalEntry;
import io.ferry.capture.journal.JournalReader;
import io.ferry.volume.VolumeFile;
import java.io.IOException;
import java.util.Map;

/**
 * Applies a range of journal records to volume files in seq order. Replaying is idempotent:
 * applying the same records again leaves the same bytes, so recovery may start anywhere at or
 * before the first record a file may lack.
 */
public final class JournalReplay {

    private JournalReplay() {
    }

    /**
     * Applies records {@code fromSeq..toSeq} (inclusive) to {@code files} (by volume name); a
     * record of a volume not in {@code files} is an error. Returns the last seq applied.
     */
    public static long replay(Journal journal, long fromSeq, long toSeq, Map<String, VolumeFile> files)
            throws IOException {
        JournalEntry entry = new JournalEntry();
        long expected = fromSeq;
        try (JournalReader reader = journal.reader(fromSeq)) {
            while (expected <= toSeq && reader.next(entry)) {
                if (entry.seq() != expected) {
                    throw new IOException("journal of group " + journal.group() + " has seq " + entry.seq()
                            + " where " + expected + " was expected");
                }
                VolumeFile file = files.get(entry.volume());
                if (file == null) {
                    throw new IOException("journal record " + entry.seq() + " names volume '" + entry.volume()
                            + "' which is not part of group " + journal.group());
                }
                switch (entry.type()) {
                    case Journal.WRITE -> file.write(entry.offset(), entry.data());
                    case Journal.WRITE_ZEROES, Journal.TRIM -> file.zero(entry.offset(), entry.length());
                    default -> throw new IOException("journal record " + entry.seq() + " has unknown type " + entry.type());
                }
                expected++;
            }
        }
        return expected - 1;
    }
}
