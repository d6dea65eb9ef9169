package io.ferry.receiver.journal;

import io.ferry.journal.SegmentFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One size-bounded piece of a {@link DeltaJournal}: its own Chronicle Queue directory, named by
 * the first seq of its first record ({@code seg-00000000000000000001}). Records of a segment
 * are contiguous in seq: each starts right after the previous one's last seq.
 *
 * <p>Ownership: {@code recordBytes} and {@code lastSeq} are written by the journal thread (and
 * published by the journal's volatile fields); {@code sealed} is set once by the journal thread;
 * {@code released} is guarded by the journal's segment lock; the sync fields by its sync lock.
 */
final class JournalSegment {

    final long firstSeq;
    final Path dir;

    /** Bytes of the records in this segment (headers and bodies): what the roll and {@code bytesOnDisk} count. */
    long recordBytes;
    /** Last seq of the last record, or {@code firstSeq - 1} while empty. */
    volatile long lastSeq;
    /** No record will be appended to this segment any more. */
    volatile boolean sealed;
    /** Deleted by release; a reader must not open it. Guarded by the journal's segment lock. */
    boolean released;

    /** The segment's files and their durability; guarded by the journal's sync lock. */
    private final SegmentFiles files;

    JournalSegment(long firstSeq, Path dir) {
        this.firstSeq = firstSeq;
        this.dir = dir;
        this.files = new SegmentFiles(dir);
        this.lastSeq = firstSeq - 1;
    }

    static String dirName(long firstSeq) {
        return SegmentFiles.dirName(firstSeq);
    }

    /** The first seq encoded in a segment directory name, or -1 if the name is not a segment's. */
    static long parseFirstSeq(String name) {
        return SegmentFiles.parseFirstSeq(name);
    }

    /**
     * Forces the segment's files ({@link SegmentFiles#force}); once a segment sealed before the
     * call has been forced it is durable for good. Caller holds the sync lock.
     */
    void force(Path journalDir) throws IOException {
        files.force(journalDir, sealed);
    }

    /** The segment is deleted or the journal closed: no more syncs. Caller holds the sync lock. */
    void retireSync() {
        files.retire();
    }

    static void forcePath(Path p) throws IOException {
        SegmentFiles.forcePath(p);
    }

    @Override
    public String toString() {
        return dir.getFileName().toString();
    }
}
