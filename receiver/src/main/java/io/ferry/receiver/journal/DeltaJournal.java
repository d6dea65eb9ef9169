package io.ferry.receiver.journal;

import io.ferry.journal.SegmentFiles;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 * The receiver's journal of one consistency group on Chronicle Queue: every DELTA frame body
 * the group received, in seq order, kept until it is applied to the replicas (and, later, for
 * as long as recovery-point retention holds it).
 *
 * <h2>Layout</h2>
 * The directory holds {@code journal.properties} (format and group, checked on open),
 * {@code journal.lock} (an OS file lock: one process, one instance) and size-bounded
 * <em>segments</em>, each its own Chronicle queue directory named by the first seq of its first
 * record ({@code seg-00000000000000000001}). A segment is rolled when its records reach
 * {@link Options#segmentSizeBytes()}; {@link #release} deletes whole segments. Every segment
 * queue is built with a fixed {@link TimeProvider} (time 0) and
 * {@link LargeRollCycles#LARGE_DAILY}, so Chronicle never rolls a segment by time: a segment is
 * one data file in cycle 0.
 *
 * <h2>Record</h2>
 * One Chronicle document per delta, raw bytes (no Wire field names), native byte order:
 * {@code firstSeq:8 lastSeq:8 captureNanos:8 bodyLength:4 body:bodyLength}, the body being the
 * DELTA frame body exactly as received (its own xxHash64 is verified when it is decoded for
 * apply). Records are contiguous: each one's firstSeq is the previous one's lastSeq + 1. A body
 * may be up to {@link #MAX_BODY_BYTES}; Chronicle caps a document at a quarter of the block size
 * ({@value #BLOCK_SIZE_BYTES} bytes).
 *
 * <h2>Crash recovery</h2>
 * Chronicle marks a document's header complete only after its body is written; after a kill -9
 * mid-append the next open finds the dead writer's incomplete header and overwrites it, and no
 * reader ever sees it. On open every segment's record headers are scanned: each record must
 * start right after the previous one and each segment right after the one before (else
 * {@link JournalException}); the last complete record gives {@link #lastSeq()}, and a last
 * segment without a complete record is deleted. Open then forces every segment, so that what
 * it recovered is durable and may be acknowledged.
 *
 * <h2>Threads</h2>
 * The journal thread owns the appender, the current segment's queue and the roll: it calls
 * {@link #append}. {@link #sync} may run on any thread, concurrently with appends, under its own
 * lock (it forces the data files through separate descriptors; the group's journal thread calls
 * it between batches). {@link #release}, {@link #reader} and a reader's move to the next segment
 * hold the segment lock, so a reader never opens a segment being deleted. The segment list is a
 * copy-on-write array in a volatile field; {@link #lastSeq} is volatile.
 *
 * <h2>Chronicle's threads and the network</h2>
 * Before Chronicle loads, this class sets (unless already set) the system properties that turn
 * off its usage analytics and banner, its disk-space monitor and its background resource
 * releaser, so {@link #close} leaves no thread running. The same flags are in the JVM flags.
 */
public final class DeltaJournal implements AutoCloseable {

    /** Largest DELTA body one record holds (a frame is at most 40 MiB by default). */
    public static final int MAX_BODY_BYTES = 60 << 20;
    /** Chronicle block size: at least four times the largest record, as Chronicle requires. */
    static final long BLOCK_SIZE_BYTES = 256L << 20;
    static final int HEADER_BYTES = 8 + 8 + 8 + 4;
    static final int FORMAT = 1;
    /** How long Chronicle waits on an incomplete header before it overwrites it as a dead writer's. */
    static final long TORN_HEADER_TIMEOUT_MS = 500;

    private static final String PROPERTIES_FILE = "journal.properties";
    private static final String LOCK_FILE = "journal.lock";
    private static final TimeProvider CYCLE_ZERO = () -> 0L;
    /** Journal directories open in this JVM (POSIX locks do not exclude the same process). */
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

    /** Guards changes of the segment list, {@link JournalSegment#released} and readers' segment opens. */
    private final Object segmentLock = new Object();
    /** Guards the segments' sync descriptors; held for the duration of a sync. */
    private final Object syncLock = new Object();

    private volatile JournalSegment[] segments;
    private volatile long lastSeq;
    private volatile long lastCaptureNanos;
    private volatile boolean closed;

    // Owned by the journal thread (set up by open before the journal is handed out).
    private JournalSegment current;
    private boolean currentPublished;
    private SingleChronicleQueue currentQueue;
    private ExcerptAppender appender;

    private DeltaJournal(Path dir, String group, Options options, FileChannel lockChannel, FileLock fileLock) {
        this.dir = dir;
        this.group = group;
        this.options = options;
        this.lockChannel = lockChannel;
        this.fileLock = fileLock;
    }

    /**
     * Opens (creating if needed) the journal of {@code group} in {@code dir}: recovers
     * {@link #firstSeq()}, {@link #lastSeq()} and {@link #lastCaptureNanos()} from the segments
     * on disk, including after a crash, and syncs them. Throws {@link JournalException} when the
     * directory holds another group's journal, is open elsewhere, or has a gap.
     */
    public static DeltaJournal open(Path dir, String group, Options options) {
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

    private static DeltaJournal openRegistered(Path dir, String group, Options options) {
        FileChannel lockChannel = null;
        DeltaJournal journal = null;
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
            journal = new DeltaJournal(dir, group, options, lockChannel, lock);
            journal.recover();
            journal.sync();
            return journal;
        } catch (IOException e) {
            closeQuietly(journal, lockChannel);
            throw new JournalException("cannot open journal of group " + group + " in " + dir + ": " + e, e);
        } catch (RuntimeException e) {
            closeQuietly(journal, lockChannel);
            throw e;
        }
    }

    public String group() {
        return group;
    }

    public Path directory() {
        return dir;
    }

    /**
     * Appends one record holding the readable bytes of {@code body} (its indices are left
     * unchanged, the caller keeps its reference). Journal thread only. Not durable until a
     * {@link #sync} that starts after this returns.
     *
     * @throws IllegalArgumentException for {@code firstSeq != lastSeq() + 1}, {@code lastSeq < firstSeq}
     *         or a body over {@link #MAX_BODY_BYTES}
     * @throws JournalException if Chronicle does not take the record
     */
    public void append(long firstSeq, long lastSeq, long captureNanos, ByteBuf body) {
        if (closed) {
            throw new IllegalStateException("journal of group " + group + " is closed");
        }
        long expected = this.lastSeq + 1;
        if (firstSeq != expected || lastSeq < firstSeq) {
            throw new IllegalArgumentException("journal of group " + group + ": append of seqs " + firstSeq + ".."
                    + lastSeq + " rejected, the next record must start at seq " + expected + " (lastSeq + 1)");
        }
        int bodyBytes = body.readableBytes();
        if (bodyBytes > MAX_BODY_BYTES) {
            throw new IllegalArgumentException("journal of group " + group + ": DELTA body of " + bodyBytes
                    + " bytes exceeds the journal's record limit of " + MAX_BODY_BYTES + " bytes");
        }
        if (current == null || current.recordBytes >= options.segmentSizeBytes()) {
            roll(firstSeq);
        }
        if (appender == null) {
            appender = currentQueue.createAppender();
            appender.singleThreadedCheckDisabled(true);
        }
        try (DocumentContext dc = appender.writingDocument()) {
            try {
                Bytes<?> bytes = dc.wire().bytes();
                bytes.writeLong(firstSeq).writeLong(lastSeq).writeLong(captureNanos).writeInt(bodyBytes);
                int written = 0;
                if (bodyBytes > 0) {
                    for (ByteBuffer part : body.nioBuffers(body.readerIndex(), bodyBytes)) {
                        int before = part.remaining();
                        bytes.writeSome(part);
                        written += before - part.remaining();
                    }
                }
                if (written != bodyBytes) {
                    throw new JournalException("journal of group " + group + ": Chronicle took " + written + " of "
                            + bodyBytes + " body bytes of seqs " + firstSeq + ".." + lastSeq);
                }
            } catch (RuntimeException e) {
                dc.rollbackOnClose();
                throw e;
            }
        }
        current.recordBytes += HEADER_BYTES + bodyBytes;
        current.lastSeq = lastSeq;
        if (!currentPublished) {
            publish(current);
        }
        this.lastCaptureNanos = captureNanos;
        this.lastSeq = lastSeq;
    }

    /** Seals the current segment (if any) and starts a new one whose first record starts at {@code seq}. */
    private void roll(long seq) {
        if (current != null) {
            closeCurrentQueue();
            current.sealed = true;
        }
        Path segmentDir = dir.resolve(JournalSegment.dirName(seq));
        try {
            Files.createDirectories(segmentDir);
        } catch (IOException e) {
            throw new JournalException("journal of group " + group + ": cannot create segment " + segmentDir + ": " + e, e);
        }
        current = new JournalSegment(seq, segmentDir);
        currentQueue = openQueue(segmentDir);
        currentPublished = false;
    }

    private void publish(JournalSegment segment) {
        synchronized (segmentLock) {
            JournalSegment[] old = segments;
            JournalSegment[] updated = Arrays.copyOf(old, old.length + 1);
            updated[old.length] = segment;
            segments = updated;
        }
        currentPublished = true;
    }

    /**
     * Makes every record whose {@link #append} returned before this call started durable: forces
     * each segment not yet known durable (older sealed ones first), with fdatasync on a
     * descriptor of its own, and the first time its metadata and directory entries. Any thread;
     * concurrent calls are serialised. Throws {@link JournalException} if a sync fails; the
     * records' durability is then unknown and the journal must not be trusted further.
     */
    public void sync() {
        synchronized (syncLock) {
            if (closed) {
                throw new IllegalStateException("journal of group " + group + " is closed");
            }
            forceAll();
        }
    }

    private void forceAll() {
        for (JournalSegment segment : segments) {
            try {
                segment.force(dir);
            } catch (IOException e) {
                throw new JournalException("journal of group " + group + ": sync of segment " + segment.dir
                        + " failed: " + e, e);
            }
        }
    }

    /** Last seq of the last record appended (0 for an empty journal). */
    public long lastSeq() {
        return lastSeq;
    }

    /** Capture time of the last record appended (0 for an empty journal). */
    public long lastCaptureNanos() {
        return lastCaptureNanos;
    }

    /** The first seq still held: the first seq of the oldest segment, or {@code lastSeq() + 1} when none. */
    public long firstSeq() {
        JournalSegment[] segs = segments;
        long last = lastSeq;
        return segs.length == 0 ? last + 1 : Math.min(segs[0].firstSeq, last + 1);
    }

    /**
     * A reader positioned at the record that contains {@code fromSeq}; a reader of
     * {@code lastSeq() + 1} tails (returns records as they are appended). Readers open their own
     * Chronicle queue per segment and must be closed by their owner, before the journal.
     *
     * @throws IllegalArgumentException for a seq already released or above {@code lastSeq() + 1}
     */
    public DeltaJournalReader reader(long fromSeq) {
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
        DeltaJournalReader reader = new DeltaJournalReader(this, fromSeq);
        if (!reader.openSegmentContaining(fromSeq)) {
            reader.close();
            throw new IllegalArgumentException("journal of group " + group + ": cannot read from seq " + fromSeq
                    + ", it was released meanwhile; the journal holds seqs from " + firstSeq());
        }
        return reader;
    }

    /**
     * Deletes every segment whose records all end at or before {@code seq}, never the segment
     * being appended to; {@link #firstSeq()} moves to the oldest segment left. Any thread. A
     * reader inside a deleted segment can finish it (Linux keeps the mapped file until closed).
     */
    public void release(long seq) {
        List<JournalSegment> removed = new ArrayList<>();
        synchronized (segmentLock) {
            JournalSegment[] segs = segments;
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
        for (JournalSegment segment : removed) {
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
     * Bytes of the records held (headers and DELTA bodies), without Chronicle's per-segment
     * index and metadata. Any thread.
     */
    public long bytesOnDisk() {
        long sum = 0;
        if (lastSeq >= 0) { // the volatile read makes the journal thread's latest recordBytes visible
            for (JournalSegment segment : segments) {
                sum += segment.recordBytes;
            }
        }
        return sum;
    }

    /**
     * Syncs (a clean shutdown leaves everything durable), then releases the appender, the mapped
     * files, the sync descriptors and the directory lock. Call it after the journal thread and
     * the readers are done. Idempotent.
     */
    @Override
    public void close() {
        synchronized (syncLock) {
            if (closed) {
                return;
            }
            RuntimeException failure = null;
            try {
                forceAll();
            } catch (RuntimeException e) {
                failure = e;
            }
            closed = true;
            try {
                closeCurrentQueue();
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
            for (JournalSegment segment : segments) {
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

    JournalSegment[] segments() {
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
        List<JournalSegment> found = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                long firstSeq = JournalSegment.parseFirstSeq(p.getFileName().toString());
                if (firstSeq > 0 && Files.isDirectory(p)) {
                    found.add(new JournalSegment(firstSeq, p));
                }
            }
        }
        found.sort(Comparator.comparingLong(s -> s.firstSeq));
        if (found.isEmpty()) {
            segments = new JournalSegment[0];
            lastSeq = 0;
            // Create the first segment and its appender now, not on the first delta: Chronicle's
            // first file and appender cost about a second, which would hold back the first ACK.
            // A crash before the first record leaves an empty segment, which recovery removes.
            roll(1);
            appender = currentQueue.createAppender();
            appender.singleThreadedCheckDisabled(true);
            return;
        }
        for (int i = 0; i < found.size() - 1; i++) {
            JournalSegment segment = found.get(i);
            try (SingleChronicleQueue queue = openQueue(segment.dir)) {
                scanRecords(queue, segment);
            }
            long nextFirst = found.get(i + 1).firstSeq;
            if (segment.lastSeq + 1 != nextFirst) {
                throw new JournalException("journal of group " + group + " in " + dir + " has a gap: segment "
                        + segment + " ends at seq " + segment.lastSeq + " but the next segment starts at seq "
                        + nextFirst + ". The records after the gap cannot be applied in order; move the journal "
                        + "directory aside and let the group resync.");
            }
            segment.sealed = true;
        }
        // The last segment may end in a record torn by a crash: scan it forward (complete documents
        // only). A last segment without a complete record holds nothing: delete it, the next append
        // starts it again (this also spares Chronicle a torn header at index 0).
        long recoveredLastSeq = found.get(found.size() - 1).firstSeq - 1;
        long recoveredCapture = 0;
        while (!found.isEmpty()) {
            JournalSegment last = found.get(found.size() - 1);
            SingleChronicleQueue queue = openQueue(last.dir);
            long capture;
            try {
                capture = scanRecords(queue, last);
            } catch (RuntimeException e) {
                queue.close();
                throw e;
            }
            if (last.lastSeq >= last.firstSeq) {
                currentQueue = queue;
                current = last;
                currentPublished = true;
                recoveredLastSeq = last.lastSeq;
                recoveredCapture = capture;
                break;
            }
            queue.close();
            SegmentFiles.deleteRecursively(last.dir);
            JournalSegment.forcePath(dir);
            found.remove(found.size() - 1);
            recoveredLastSeq = last.firstSeq - 1;
            if (!found.isEmpty()) {
                found.get(found.size() - 1).sealed = false;
            }
        }
        segments = found.toArray(new JournalSegment[0]);
        lastCaptureNanos = recoveredCapture;
        lastSeq = recoveredLastSeq;
    }

    /**
     * Reads every complete record of a segment in order, checking that each starts right after
     * the previous one; sets {@code segment.lastSeq} and {@code segment.recordBytes} and returns
     * the capture time of the last record (0 when there is none).
     */
    private long scanRecords(SingleChronicleQueue queue, JournalSegment segment) {
        long expected = segment.firstSeq;
        long capture = 0;
        segment.lastSeq = segment.firstSeq - 1;
        segment.recordBytes = 0;
        try (ExcerptTailer tailer = queue.createTailer()) {
            while (true) {
                try (DocumentContext dc = tailer.readingDocument()) {
                    if (!dc.isPresent()) {
                        return capture;
                    }
                    Bytes<?> bytes = dc.wire().bytes();
                    long first = bytes.readLong();
                    long last = bytes.readLong();
                    if (first != expected || last < first) {
                        throw new JournalException("journal of group " + group + ": segment " + segment.dir
                                + " holds seqs " + first + ".." + last + " where seq " + expected + " was expected;"
                                + " the segment is not a ferry receiver journal segment or is damaged");
                    }
                    capture = bytes.readLong();
                    segment.lastSeq = last;
                    segment.recordBytes += HEADER_BYTES + bytes.readInt();
                    expected = last + 1;
                }
            }
        }
    }

    private static void checkProperties(Path dir, String group) throws IOException {
        Path file = dir.resolve(PROPERTIES_FILE);
        String expected = "format=" + FORMAT + "\nkind=receiver-delta-journal\ngroup=" + group + "\n";
        if (!Files.exists(file)) {
            Path tmp = dir.resolve(PROPERTIES_FILE + ".tmp");
            Files.write(tmp, expected.getBytes(StandardCharsets.UTF_8));
            JournalSegment.forcePath(tmp);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            JournalSegment.forcePath(dir);
            return;
        }
        String actual = Files.readString(file, StandardCharsets.UTF_8);
        if (!actual.equals(expected)) {
            throw new JournalException("journal directory " + dir + " does not hold the format " + FORMAT
                    + " receiver journal of group " + group + " (" + PROPERTIES_FILE + " says: "
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

    private static void closeQuietly(DeltaJournal journal, FileChannel lockChannel) {
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
