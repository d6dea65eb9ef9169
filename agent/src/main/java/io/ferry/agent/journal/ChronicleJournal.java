package io.ferry.agent.journal;

import io.ferry.journal.SegmentFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.core.time.TimeProvider;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.LargeRollCycles;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * The {@link Journal} of one consistency group on Chronicle Queue.
 *
 * <h2>Layout</h2>
 * The group's directory holds {@code journal.properties} (format and group name, checked on
 * open), {@code journal.lock} (an OS file lock: one process, one instance) and size-bounded
 * <em>segments</em>, each its own Chronicle queue directory named by the seq of its first record
 * ({@code seg-00000000000000000001}). A segment is rolled when its data file reaches
 * {@link Options#segmentSizeBytes()}; {@link #release} deletes whole segments.
 *
 * <p>Chronicle rolls files by wall-clock time. Every segment queue is built with a fixed
 * {@link TimeProvider} (time 0) and {@link LargeRollCycles#LARGE_DAILY} (2^37 records per cycle),
 * so a segment never rolls: it is one data file in cycle 0, and the record with seq {@code s} is
 * at Chronicle index {@code s - firstSeq}. A reader positions with {@code moveToIndex} (an index
 * lookup plus a scan of at most 128 headers), never by scanning the journal; it checks the seq
 * in the record it lands on and scans the segment from its start if it ever disagrees.
 *
 * <h2>Record</h2>
 * One Chronicle document per record, written as raw bytes (no Wire field names), little-endian:
 * {@code seq:8 offset:8 length:8 captureNanos:8 type:1 volumeLength:1 volume:n (ASCII)}, then
 * for {@link #WRITE} the {@code length} payload bytes. The group is not repeated per record: it
 * is the journal's. Chronicle caps one document at a quarter of the block size; the block size
 * is {@value #BLOCK_SIZE_BYTES} bytes, so a payload of up to {@link #MAX_PAYLOAD_BYTES} (32 MiB)
 * fits; a larger one is rejected.
 *
 * <h2>Crash recovery</h2>
 * Chronicle marks a document's header complete only after its body is written. After a kill -9
 * mid-append the next appender finds the dead process's write lock (unlocked because its pid is
 * dead) and the incomplete header, and overwrites it; readers never see it. On open the last
 * record of the last segment gives {@link #lastSeq()}; sealed segments are checked to hold
 * exactly the seqs up to the next segment's first seq (a gap throws {@link JournalException}).
 *
 * <h2>Threads</h2>
 * The append thread owns the appender, the current segment's queue and the roll. {@link #sync}
 * runs on any thread (the group's sync thread), concurrently with appends, under its own lock:
 * it forces the segment data files through separate {@link FileChannel}s, never touching the
 * appender (see {@link #sync}). {@link #release}, {@link #reader} and the reader's move to the
 * next segment hold the segment lock, so that a reader never opens a segment being deleted. The
 * segment list is a copy-on-write array in a volatile field; {@link #lastSeq} is volatile and
 * also publishes the current segment's size to {@link #bytesOnDisk}.
 *
 * <h2>Chronicle's own threads and the network</h2>
 * Before Chronicle loads, this class sets (unless already set) the system properties that turn
 * off its usage analytics and banner (no network), its disk-space monitor thread and its
 * background resource releaser thread (resources are released on the closing thread), so that
 * {@link #close} leaves no thread running. The same properties belong in the JVM flags.
 */
public final class ChronicleJournal implements Journal {

    /** Largest WRITE payload of one record. */
    public static final int MAX_PAYLOAD_BYTES = 32 << 20;
    /** Chronicle block size: four times the largest record, as Chronicle requires. */
    static final long BLOCK_SIZE_BYTES = 256L << 20;
    static final int MAX_VOLUME_NAME_BYTES = 255;
    static final int HEADER_BYTES = 8 + 8 + 8 + 8 + 1 + 1;
    static final int FORMAT = 1;
    /**
     * How long Chronicle waits on an incomplete document header before it takes it for the
     * remains of a dead writer and overwrites it. There is one writer per journal (the file
     * lock), so at open any incomplete header is a dead process's; Chronicle's default is 10 s.
     */
    static final long TORN_HEADER_TIMEOUT_MS = 500;

    private static final String PROPERTIES_FILE = "journal.properties";
    private static final String LOCK_FILE = "journal.lock";
    private static final TimeProvider CYCLE_ZERO = () -> 0L;
    /**
     * Journal directories open in this JVM. The OS lock only excludes other processes: POSIX
     * record locks are per process, and closing any descriptor of the lock file would drop them.
     */
    private static final Set<Path> OPEN_DIRS = ConcurrentHashMap.newKeySet();

    static {
        setDefaultProperty("chronicle.analytics.disable", "true");
        setDefaultProperty("chronicle.announcer.disable", "true");
        setDefaultProperty("chronicle.disk.monitor.disable", "true");
        setDefaultProperty("background.releaser", "false");
    }

    /** Tuning of a journal. */
    public record Options(long segmentSizeBytes) {
        public static final long DEFAULT_SEGMENT_SIZE_BYTES = 256L << 20;
        static final long MIN_SEGMENT_SIZE_BYTES = 4 << 10;

        public Options {
            if (segmentSizeBytes < MIN_SEGMENT_SIZE_BYTES) {
                throw new IllegalArgumentException("journal segmentSizeBytes must be at least "
                        + MIN_SEGMENT_SIZE_BYTES + ", got " + segmentSizeBytes);
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_SEGMENT_SIZE_BYTES);
        }
    }

    private final Path dir;
    private final String group;
    private final Options options;
    private final FileChannel lockChannel;
    private final FileLock fileLock;

    /** Guards the segment list's changes, {@link Segment#released} and readers' segment opens. */
    private final Object segmentLock = new Object();
    /** Guards the sync channels in the segments; held for the duration of a sync. */
    private final Object syncLock = new Object();

    private volatile Segment[] segments;
    private volatile long lastSeq;
    private volatile boolean closed;

    // Owned by the append thread (set up by open before the journal is handed out).
    private long nextSeq;
    private Segment current;
    private boolean currentPublished;
    private SingleChronicleQueue currentQueue;
    private ExcerptAppender appender;

    private ChronicleJournal(Path dir, String group, Options options, FileChannel lockChannel, FileLock fileLock) {
        // dir: the real path, registered in OPEN_DIRS until close
        this.dir = dir;
        this.group = group;
        this.options = options;
        this.lockChannel = lockChannel;
        this.fileLock = fileLock;
    }

    /** Opens (creating if needed) the journal of {@code group} in {@code dir}, with default options. */
    public static ChronicleJournal open(Path dir, String group) {
        return open(dir, group, Options.defaults());
    }

    /**
     * Opens (creating if needed) the journal of {@code group} in {@code dir}: recovers
     * {@link #firstSeq()} and {@link #lastSeq()} from the segments on disk, including after a
     * crash. Throws {@link JournalException} when the directory holds another group's journal,
     * is open in another process, or has a gap between segments.
     */
    public static ChronicleJournal open(Path dir, String group, Options options) {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(options, "options");
        Path realDir;
        try {
            Files.createDirectories(dir);
            realDir = dir.toRealPath();
        } catch (IOException e) {
            throw new JournalException("cannot create journal directory " + dir + " of group " + group + ": " + e, e);
        }
        if (!OPEN_DIRS.add(realDir)) {
            throw new JournalException("journal " + dir + " of group " + group
                    + " is already open in this process; close it first");
        }
        try {
            return openRegistered(realDir, group, options);
        } catch (RuntimeException e) {
            OPEN_DIRS.remove(realDir);
            throw e;
        }
    }

    private static ChronicleJournal openRegistered(Path dir, String group, Options options) {
        FileChannel lockChannel = null;
        ChronicleJournal journal = null;
        try {
            lockChannel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new JournalException("journal " + dir + " of group " + group
                        + " is already open in another process; stop it first");
            }
            checkProperties(dir, group);
            journal = new ChronicleJournal(dir, group, options, lockChannel, lock);
            journal.recover();
            return journal;
        } catch (IOException e) {
            closeQuietly(journal, lockChannel);
            throw new JournalException("cannot open journal of group " + group + " in " + dir + ": " + e, e);
        } catch (RuntimeException e) {
            closeQuietly(journal, lockChannel);
            throw e;
        }
    }

    @Override
    public String group() {
        return group;
    }

    public Path directory() {
        return dir;
    }

    /**
     * {@inheritDoc}
     *
     * <p>No allocation: the record is written straight into Chronicle's mapped file. Throws
     * {@link IllegalArgumentException} for a seq other than {@code lastSeq() + 1}, an unknown
     * type, a payload that does not match {@code length} or exceeds {@link #MAX_PAYLOAD_BYTES},
     * or a volume name that is not 1..255 ASCII characters.
     */
    @Override
    public void append(String volume, long seq, long offset, long length, long captureNanos, byte type,
                       ByteBuffer data) {
        if (closed) {
            throw new IllegalStateException("journal of group " + group + " is closed");
        }
        if (seq != nextSeq) {
            throw new IllegalArgumentException("journal of group " + group + ": append of seq " + seq
                    + " rejected, the next seq must be " + nextSeq + " (lastSeq + 1)");
        }
        int payloadBytes = checkRecord(volume, length, type, data);
        if (current == null || current.endPosition >= options.segmentSizeBytes()) {
            roll(seq);
        }
        if (appender == null) {
            appender = currentQueue.createAppender();
            appender.singleThreadedCheckDisabled(true);
        }
        long endPosition;
        try (DocumentContext dc = appender.writingDocument()) {
            try {
                Bytes<?> bytes = dc.wire().bytes();
                bytes.writeLong(seq).writeLong(offset).writeLong(length).writeLong(captureNanos).writeByte(type);
                int nameLength = volume.length();
                bytes.writeUnsignedByte(nameLength);
                for (int i = 0; i < nameLength; i++) {
                    bytes.writeByte((byte) volume.charAt(i));
                }
                if (payloadBytes > 0) {
                    int position = data.position();
                    bytes.writeSome(data);
                    int written = data.position() - position;
                    data.position(position);
                    if (written != payloadBytes) {
                        throw new JournalException("journal of group " + group + ": Chronicle took " + written
                                + " of " + payloadBytes + " payload bytes of seq " + seq);
                    }
                }
                endPosition = bytes.writePosition();
            } catch (RuntimeException e) {
                dc.rollbackOnClose();
                throw e;
            }
        }
        current.endPosition = endPosition;
        if (!currentPublished) {
            publish(current);
        }
        nextSeq = seq + 1;
        lastSeq = seq;
    }

    private int checkRecord(String volume, long length, byte type, ByteBuffer data) {
        if (volume == null || volume.isEmpty() || volume.length() > MAX_VOLUME_NAME_BYTES) {
            throw new IllegalArgumentException("journal of group " + group + ": volume name must be 1.."
                    + MAX_VOLUME_NAME_BYTES + " characters, got " + (volume == null ? "null" : volume.length()));
        }
        for (int i = 0; i < volume.length(); i++) {
            if (volume.charAt(i) > 0x7f) {
                throw new IllegalArgumentException("journal of group " + group + ": volume name must be ASCII: "
                        + volume);
            }
        }
        if (length < 0) {
            throw new IllegalArgumentException("journal of group " + group + ": negative length " + length);
        }
        switch (type) {
            case WRITE:
                if (length > MAX_PAYLOAD_BYTES) {
                    throw new IllegalArgumentException("journal of group " + group + ": WRITE of " + length
                            + " bytes exceeds the journal's record limit of " + MAX_PAYLOAD_BYTES + " bytes");
                }
                if (data == null || data.remaining() != length) {
                    throw new IllegalArgumentException("journal of group " + group + ": WRITE of length " + length
                            + " needs exactly that many readable bytes, got "
                            + (data == null ? "no buffer" : data.remaining()));
                }
                return (int) length;
            case WRITE_ZEROES:
            case TRIM:
                if (data != null) {
                    throw new IllegalArgumentException("journal of group " + group + ": record type " + type
                            + " carries no payload, data must be null");
                }
                return 0;
            default:
                throw new IllegalArgumentException("journal of group " + group + ": unknown record type " + type);
        }
    }

    /** Seals the current segment (if any) and starts a new one whose first record is {@code seq}. */
    private void roll(long seq) {
        if (current != null) {
            closeCurrentQueue();
            current.sealed = true;
        }
        Path segmentDir = dir.resolve(Segment.dirName(seq));
        try {
            Files.createDirectories(segmentDir);
            Segment segment = new Segment(seq, segmentDir);
            currentQueue = openQueue(segmentDir);
            segment.measureOverhead();
            current = segment;
            currentPublished = false;
        } catch (IOException e) {
            throw new JournalException("journal of group " + group + ": cannot create segment " + segmentDir
                    + ": " + e, e);
        }
    }

    private void publish(Segment segment) {
        synchronized (segmentLock) {
            Segment[] old = segments;
            Segment[] updated = Arrays.copyOf(old, old.length + 1);
            updated[old.length] = segment;
            segments = updated;
        }
        currentPublished = true;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Thread-safe and meant for a thread other than the appender's, concurrently with
     * appends. Every record whose {@link #append} returned before this call started is in a
     * published segment; this forces each segment not yet known durable (older sealed ones
     * first, the current one last) with {@code fdatasync} on its own descriptor, and the first
     * time also its metadata file and the directory entries. Linux writes back the pages that
     * the appender dirtied through its mapping on an fsync of the same file, so no Chronicle
     * object is shared with the append thread. Records appended during the call may or may not
     * be made durable by it. Concurrent calls are serialised. Throws {@link JournalException}
     * if the sync fails; then durability of the records is unknown.
     */
    @Override
    public void sync() {
        synchronized (syncLock) {
            if (closed) {
                throw new IllegalStateException("journal of group " + group + " is closed");
            }
            forceAll();
        }
    }

    private void forceAll() {
        for (Segment segment : segments) {
            try {
                segment.force(dir);
            } catch (IOException e) {
                throw new JournalException("journal of group " + group + ": sync of segment " + segment.dir
                        + " failed: " + e, e);
            }
        }
    }

    @Override
    public long lastSeq() {
        return lastSeq;
    }

    @Override
    public long firstSeq() {
        Segment[] segs = segments;
        long last = lastSeq;
        return segs.length == 0 ? last + 1 : Math.min(segs[0].firstSeq, last + 1);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Also throws {@link IllegalArgumentException} for a seq above {@code lastSeq() + 1}. A
     * reader of {@code lastSeq() + 1} tails: it returns records as they are appended. Readers
     * open their own Chronicle queue instance per segment and stay valid after the journal is
     * closed until they are closed themselves.
     */
    @Override
    public JournalReader reader(long fromSeq) {
        long first = firstSeq();
        long last = lastSeq;
        if (fromSeq < first) {
            throw new IllegalArgumentException("journal of group " + group + ": cannot read from seq " + fromSeq
                    + ", it was released; the journal holds seqs " + first + ".." + last);
        }
        if (fromSeq > last + 1) {
            throw new IllegalArgumentException("journal of group " + group + ": cannot read from seq " + fromSeq
                    + ", it is not appended yet; the last seq is " + last);
        }
        ChronicleJournalReader reader = new ChronicleJournalReader(this, fromSeq);
        if (!reader.openSegmentContaining(fromSeq)) {
            reader.close();
            throw new IllegalArgumentException("journal of group " + group + ": cannot read from seq " + fromSeq
                    + ", it was released meanwhile; the journal holds seqs from " + firstSeq());
        }
        return reader;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Thread-safe. Deletes every segment whose last record is at most {@code seq}, never the
     * segment being appended to; {@link #firstSeq()} moves to the first record of the oldest
     * segment left. Readers that are inside a deleted segment can finish reading it (Linux keeps
     * the mapped file until they close it).
     */
    @Override
    public void release(long seq) {
        List<Segment> removed = new ArrayList<>();
        synchronized (segmentLock) {
            Segment[] segs = segments;
            int n = 0;
            while (n < segs.length - 1 && segs[n + 1].firstSeq - 1 <= seq) {
                n++;
            }
            if (n == 0) {
                return;
            }
            for (int i = 0; i < n; i++) {
                segs[i].released = true;
                removed.add(segs[i]);
            }
            segments = Arrays.copyOfRange(segs, n, segs.length);
        }
        for (Segment segment : removed) {
            synchronized (syncLock) {
                segment.retireSync();
            }
            try {
                SegmentFiles.deleteReleased(segment.dir);
            } catch (IOException e) {
                throw new JournalException("journal of group " + group + ": cannot delete released segment "
                        + segment.dir + ": " + e, e);
            }
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Thread-safe. The sum over segments of the data file up to the end of its last record
     * (Chronicle's index area included) and of Chronicle's metadata files. Chronicle's data files
     * are sparse and preallocated by block, so their length overstates what is used; this is
     * the space the records take.
     */
    @Override
    public long bytesOnDisk() {
        long sum = 0;
        if (lastSeq >= 0) { // the volatile read makes the appender's latest endPosition visible
            for (Segment segment : segments) {
                sum += segment.bytesOnDisk();
            }
        }
        return sum;
    }

    /**
     * Syncs (a clean shutdown leaves everything durable), then releases the appender, the
     * mapped files, the sync descriptors and the directory lock. Call it after the append and
     * sync threads have stopped using the journal. Idempotent.
     */
    @Override
    public void close() {
        synchronized (syncLock) {
            if (closed) {
                return;
            }
            closed = true;
            RuntimeException failure = null;
            try {
                closeCurrentQueue();
            } catch (RuntimeException e) {
                failure = e;
            }
            try {
                forceAll();
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
            for (Segment segment : segments) {
                segment.retireSync();
            }
            try {
                fileLock.release();
                lockChannel.close();
            } catch (IOException e) {
                failure = failure == null ? new JournalException("journal of group " + group
                        + ": cannot release the lock of " + dir + ": " + e, e) : failure;
            }
            OPEN_DIRS.remove(dir);
            if (failure != null) {
                throw failure;
            }
        }
    }

    // ---- package-private: used by the reader ----

    Segment[] segments() {
        return segments;
    }

    Object segmentLock() {
        return segmentLock;
    }

    static SingleChronicleQueue openQueue(Path segmentDir) {
        return SingleChronicleQueueBuilder.binary(segmentDir)
                .rollCycle(LargeRollCycles.LARGE_DAILY)
                .timeProvider(CYCLE_ZERO)
                .blockSize(BLOCK_SIZE_BYTES)
                .timeoutMS(TORN_HEADER_TIMEOUT_MS)
                .build();
    }

    // ---- recovery ----

    private void recover() throws IOException {
        SegmentFiles.deleteReleasedLeftovers(dir);
        List<Segment> found = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                long firstSeq = Segment.parseFirstSeq(p.getFileName().toString());
                if (firstSeq > 0 && Files.isDirectory(p)) {
                    found.add(new Segment(firstSeq, p));
                }
            }
        }
        found.sort(Comparator.comparingLong(s -> s.firstSeq));
        if (found.isEmpty()) {
            segments = new Segment[0];
            lastSeq = 0;
            nextSeq = 1;
            // Create the first segment and its appender now: Chronicle's first file and appender
            // cost on the order of a second, which would otherwise stall the group's first write.
            roll(1);
            appender = currentQueue.createAppender();
            appender.singleThreadedCheckDisabled(true);
            return;
        }
        long[] seqAndEnd = new long[2];
        for (int i = 0; i < found.size() - 1; i++) {
            Segment segment = found.get(i);
            long expectedCount = found.get(i + 1).firstSeq - segment.firstSeq;
            try (SingleChronicleQueue queue = openQueue(segment.dir)) {
                long count = lastRecord(queue, segment, seqAndEnd);
                if (count != expectedCount) {
                    throw new JournalException("journal of group " + group + " in " + dir + " has a gap: segment "
                            + segment + " ends at seq " + (segment.firstSeq + count - 1) + " but the next segment "
                            + "starts at seq " + found.get(i + 1).firstSeq + ". The records after the gap cannot be "
                            + "replicated in order; move the journal directory aside and let the group resync.");
                }
                segment.endPosition = seqAndEnd[1];
            }
            segment.measureOverhead();
            segment.sealed = true;
        }
        Segment last = found.get(found.size() - 1);
        currentQueue = openQueue(last.dir);
        long count = lastRecord(currentQueue, last, seqAndEnd);
        last.endPosition = count == 0 ? 0 : seqAndEnd[1];
        last.measureOverhead();
        current = last;
        currentPublished = true;
        segments = found.toArray(new Segment[0]);
        nextSeq = last.firstSeq + count;
        lastSeq = nextSeq - 1;
    }

    /**
     * Returns the number of records in a segment queue, and in {@code seqAndEnd} the seq and
     * end position of its last record; checks the seq against the segment's name.
     */
    private long lastRecord(SingleChronicleQueue queue, Segment segment, long[] seqAndEnd) {
        long lastIndex = queue.lastIndex();
        if (lastIndex < 0) {
            return 0;
        }
        try (ExcerptTailer tailer = queue.createTailer()) {
            if (!tailer.moveToIndex(lastIndex)) {
                throw new JournalException("journal of group " + group + ": cannot position at the last record ("
                        + "index " + lastIndex + ") of segment " + segment.dir);
            }
            try (DocumentContext dc = tailer.readingDocument()) {
                if (!dc.isPresent()) {
                    throw new JournalException("journal of group " + group + ": last record (index " + lastIndex
                            + ") of segment " + segment.dir + " is not readable");
                }
                Bytes<?> bytes = dc.wire().bytes();
                seqAndEnd[0] = bytes.readLong();
                seqAndEnd[1] = bytes.readLimit();
            }
        }
        long count = seqAndEnd[0] - segment.firstSeq + 1;
        if (count != lastIndex + 1) {
            throw new JournalException("journal of group " + group + ": segment " + segment.dir + " holds seq "
                    + seqAndEnd[0] + " at index " + lastIndex + ", expected seq " + (segment.firstSeq + lastIndex)
                    + "; the segment is not a ferry journal segment or is damaged");
        }
        return count;
    }

    private static void checkProperties(Path dir, String group) throws IOException {
        Path file = dir.resolve(PROPERTIES_FILE);
        String expected = "format=" + FORMAT + "\ngroup=" + group + "\n";
        if (!Files.exists(file)) {
            Path tmp = dir.resolve(PROPERTIES_FILE + ".tmp");
            Files.write(tmp, expected.getBytes(StandardCharsets.UTF_8));
            Segment.forcePath(tmp);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            Segment.forcePath(dir);
            return;
        }
        String actual = Files.readString(file, StandardCharsets.UTF_8);
        if (!actual.equals(expected)) {
            throw new JournalException("journal directory " + dir + " does not hold format " + FORMAT
                    + " journal of group " + group + " (" + PROPERTIES_FILE + " says: "
                    + actual.trim().replace('\n', ' ') + "); give each group its own journal directory");
        }
    }

    private void closeCurrentQueue() {
        try {
            if (appender != null) {
                appender.close();
            }
        } finally {
            appender = null;
            if (currentQueue != null) {
                currentQueue.close();
                currentQueue = null;
            }
        }
    }

    private static void closeQuietly(ChronicleJournal journal, FileChannel lockChannel) {
        try {
            if (journal != null) {
                journal.closeCurrentQueue();
            }
        } catch (RuntimeException ignored) {
            // the open failure is what the caller needs to see
        }
        try {
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException ignored) {
            // as above
        }
    }

    private static void setDefaultProperty(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
