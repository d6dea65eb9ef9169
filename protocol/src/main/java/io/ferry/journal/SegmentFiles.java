package io.ferry.journal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The files of one journal segment as the file system sees them, shared by the agent's write
 * journal and the receiver's delta journal: the segment directory's name (the seq of its first
 * record, {@code seg-00000000000000000001}) and how its files are made durable.
 *
 * <p>Durability goes through descriptors of its own: on Linux, fsync/fdatasync of a file writes
 * back every dirty page of that file in the page cache, including pages dirtied through a shared
 * mapping (msync(MS_SYNC) is implemented with the same call), so a sync thread needs no access
 * to the single-threaded Chronicle appender that writes the segment.
 *
 * <p>Not thread-safe: callers hold their journal's sync lock.
 */
public final class SegmentFiles {
    private static final Pattern NAME = Pattern.compile("seg-(\\d{20})");
    private static final String DATA_SUFFIX = ".cq4";

    private final Path dir;
    private boolean durable;
    private boolean namesDurable;
    private FileChannel[] dataChannels;

    public SegmentFiles(Path dir) {
        this.dir = dir;
    }

    /** The directory name of the segment whose first record has {@code firstSeq}. */
    public static String dirName(long firstSeq) {
        return String.format(Locale.ROOT, "seg-%020d", firstSeq);
    }

    /** The first seq encoded in a segment directory name, or -1 if the name is not a segment's. */
    public static long parseFirstSeq(String name) {
        Matcher m = NAME.matcher(name);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** True for Chronicle's data files (the records), false for its metadata files. */
    public static boolean isDataFile(Path file) {
        return file.getFileName().toString().endsWith(DATA_SUFFIX);
    }

    /**
     * Forces the segment's data file(s) with fdatasync; the first time also its metadata files,
     * its directory and the journal directory that names it. A segment that was {@code sealed}
     * before the call is durable for good after it, and its descriptors are closed.
     */
    public void force(Path journalDir, boolean sealed) throws IOException {
        if (durable) {
            return;
        }
        if (dataChannels == null) {
            List<FileChannel> channels = new ArrayList<>(1);
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path f : files) {
                    if (isDataFile(f)) {
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
                    if (!isDataFile(f) && Files.isRegularFile(f)) {
                        forcePath(f);
                    }
                }
            }
            forcePath(dir);
            forcePath(journalDir);
            namesDurable = true;
        }
        if (sealed) {
            durable = true;
            closeChannels();
        }
    }

    /** The segment is deleted or the journal closed: no more syncs. */
    public void retire() {
        durable = true;
        closeChannels();
    }

    private void closeChannels() {
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

    private static final String RELEASED_PREFIX = "released-";

    /**
     * Deletes a released segment's directory. It is renamed first (an atomic step), so a crash in
     * the middle never leaves a half-deleted segment that recovery would take for a gap in the
     * seqs; {@link #deleteReleasedLeftovers} finishes such a delete on the next open.
     */
    public static void deleteReleased(Path segmentDir) throws IOException {
        Path tombstone = segmentDir.resolveSibling(RELEASED_PREFIX + segmentDir.getFileName());
        Files.move(segmentDir, tombstone, StandardCopyOption.ATOMIC_MOVE);
        deleteRecursively(tombstone);
    }

    /** Deletes the segments whose release a crash cut short. Call on open, before listing segments. */
    public static void deleteReleasedLeftovers(Path journalDir) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(journalDir, RELEASED_PREFIX + "*")) {
            for (Path p : entries) {
                deleteRecursively(p);
            }
        }
    }

    /** Deletes {@code root} and everything below it; nothing if it does not exist. */
    public static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** fsync of a file or directory, so that its content or the names in it are durable. */
    public static void forcePath(Path p) throws IOException {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
            c.force(true);
        }
    }
}
