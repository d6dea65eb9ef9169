package io.ferry.agent.journal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
    private static final Pattern NAME = Pattern.compile("seg-(\\d{20})");
    private static final String DATA_SUFFIX = ".cq4";

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

    // Guarded by the journal's sync lock.
    private boolean durable;
    private boolean namesDurable;
    private FileChannel[] dataChannels;

    Segment(long firstSeq, Path dir) {
        this.firstSeq = firstSeq;
        this.dir = dir;
    }

    static String dirName(long firstSeq) {
        return String.format(Locale.ROOT, "seg-%020d", firstSeq);
    }

    /** The first seq encoded in a segment directory name, or -1 if the name is not a segment's. */
    static long parseFirstSeq(String name) {
        Matcher m = NAME.matcher(name);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    long bytesOnDisk() {
        return endPosition + overheadBytes;
    }

    void measureOverhead() throws IOException {
        long sum = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (!f.getFileName().toString().endsWith(DATA_SUFFIX) && Files.isRegularFile(f)) {
                    sum += Files.size(f);
                }
            }
        }
        overheadBytes = sum;
    }

    /**
     * Forces the segment's data file(s) to stable storage; the first time also its metadata files,
     * its directory and the journal directory holding its name. Once a sealed segment has been
     * forced it is durable for good and its channels are closed. Caller holds the sync lock.
     *
     * <p>Why a FileChannel and not the appender's mapping: on Linux, fsync/fdatasync of a file
     * writes back every dirty page of that file in the page cache, including pages dirtied
     * through a shared mapping (msync(MS_SYNC) is implemented with the same call). A separate
     * descriptor therefore needs no access to the appender's Chronicle objects, which are
     * single-threaded.
     */
    void force(Path journalDir) throws IOException {
        if (durable) {
            return;
        }
        boolean sealedBeforeForce = sealed;
        if (dataChannels == null) {
            List<FileChannel> channels = new ArrayList<>(1);
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path f : files) {
                    if (f.getFileName().toString().endsWith(DATA_SUFFIX)) {
                        channels.add(FileChannel.open(f, StandardOpenOption.WRITE));
                    }
                }
            }
            dataChannels = channels.toArray(new FileChannel[0]);
        }
        for (FileChannel c : dataChannels) {
            c.force(false);
        }
        if (!namesDurable) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path f : files) {
                    if (!f.getFileName().toString().endsWith(DATA_SUFFIX) && Files.isRegularFile(f)) {
                        forcePath(f);
                    }
                }
            }
            forcePath(dir);
            forcePath(journalDir);
            namesDurable = true;
        }
        if (sealedBeforeForce) {
            durable = true;
            closeSyncChannels();
        }
    }

    /** The segment is deleted or the journal closed: no more syncs. Caller holds the sync lock. */
    void retireSync() {
        durable = true;
        closeSyncChannels();
    }

    /** Caller holds the sync lock. */
    private void closeSyncChannels() {
        FileChannel[] channels = dataChannels;
        dataChannels = null;
        if (channels == null) {
            return;
        }
        for (FileChannel c : channels) {
            try {
                c.close();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot close journal file in " + dir, e);
            }
        }
    }

    static void forcePath(Path p) throws IOException {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    @Override
    public String toString() {
        return dir.getFileName().toString();
    }
}
