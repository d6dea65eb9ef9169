package io.ferry.receiver.journal;

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
 * One size-bounded piece of a {@link DeltaJournal}: its own Chronicle Queue directory, named by
 * the first seq of its first record ({@code seg-00000000000000000001}). Records of a segment
 * are contiguous in seq: each starts right after the previous one's last seq.
 *
 * <p>Ownership: {@code recordBytes} and {@code lastSeq} are written by the journal thread (and
 * published by the journal's volatile fields); {@code sealed} is set once by the journal thread;
 * {@code released} is guarded by the journal's segment lock; the sync fields by its sync lock.
 */
final class JournalSegment {
    private static final Pattern NAME = Pattern.compile("seg-(\\d{20})");
    private static final String DATA_SUFFIX = ".cq4";

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

    // Guarded by the journal's sync lock.
    private boolean durable;
    private boolean namesDurable;
    private FileChannel[] dataChannels;

    JournalSegment(long firstSeq, Path dir) {
        this.firstSeq = firstSeq;
        this.dir = dir;
        this.lastSeq = firstSeq - 1;
    }

    static String dirName(long firstSeq) {
        return String.format(Locale.ROOT, "seg-%020d", firstSeq);
    }

    /** The first seq encoded in a segment directory name, or -1 if the name is not a segment's. */
    static long parseFirstSeq(String name) {
        Matcher m = NAME.matcher(name);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * Forces the segment's data file(s) with fdatasync on descriptors of its own; the first time
     * also its metadata files, its directory and the journal directory that names it. On Linux
     * an fsync of a file writes back the pages dirtied through Chronicle's shared mapping too.
     * A sealed segment, once forced, is durable for good. Caller holds the sync lock.
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
