package io.ferry.agent.journal;

import io.ferry.journal.SegmentFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One size-bounded piece of a journal: its own Chronicle Queue directory, named by the seq of
 * its first record ({@code seg-00000000000000000001}). Records of a segment are contiguous: the
 * record at Chronicle index {@code i} (cycle 0, see {@link ChronicleJournal}) has seq
 * {@code firstSeq + i}.
 *
 * <p>Fields are owned as follows: {@code endPosition} is written by the journal's append thread
 * (published by the journal's volatile {@code lastSeq}); {@code sealed} is set once by the append
 * thread; {@code released} is guarded by the journal's segment lock; the sync fields are guarded
 * by the journal's sync lock.
 */
final class Segment {
    final long firstSeq;
    final Path dir;

    /** End of the last record in the data file (bytes from the file start, incl. Chronicle's index area). */
    long endPosition;
    /** Bytes of Chronicle's metadata files (metadata.cq4t): measured when the segment is opened. */
    long overheadBytes;
    /** No record will be appended to this segment any more. */
    volatile boolean sealed;
    /** Deleted by release; a reader must not open it. Guarded by the journal's segment lock. */
    boolean released;

    /** The segment's files and their durability; guarded by the journal's sync lock. */
    private final SegmentFiles files;

    Segment(long firstSeq, Path dir) {
        this.firstSeq = firstSeq;
        this.dir = dir;
        this.files = new SegmentFiles(dir);
    }

    static String dirName(long firstSeq) {
        return SegmentFiles.dirName(firstSeq);
    }

    /** The first seq encoded in a segment directory name, or -1 if the name is not a segment's. */
    static long parseFirstSeq(String name) {
        return SegmentFiles.parseFirstSeq(name);
    }

    long bytesOnDisk() {
        return endPosition + overheadBytes;
    }

    void measureOverhead() throws IOException {
        long sum = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (!SegmentFiles.isDataFile(f) && Files.isRegularFile(f)) {
                    sum += Files.size(f);
                }
            }
        }
        overheadBytes = sum;
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
