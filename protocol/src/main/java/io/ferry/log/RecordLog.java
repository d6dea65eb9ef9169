package io.ferry.log;

import io.ferry.daemon.PrivateFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.File;
import java.io.IOException;
import java.nio.ByteOrder;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.core.time.TimeProvider;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.impl.StoreFileListener;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.LargeRollCycles;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * The one log engine of ferry: an append-only stream of records addressed by seq, on one
 * Chronicle queue. Every record stream of both daemons is one (the agent's write journal, the
 * receiver's delta journal, the undo log); the next ones (dirty bitmap, activity log) are meant
 * to be too. This package is the only one that imports Chronicle.
 *
 * <h2>Records</h2>
 * A record covers the seqs {@code firstSeq..lastSeq} (one seq for most streams, a seq range for
 * the receiver's deltas); each record's firstSeq is the previous record's lastSeq + 1, the first
 * record of an empty log starts at seq 1. In a log opened with {@link Options#parts()} an entry
 * may take several records that repeat the same seqs (an undo pre-image larger than one record);
 * the engine does not roll between them. One Chronicle document per record, raw bytes, all
 * numbers little-endian (Chronicle Bytes' native order; the engine refuses a big-endian
 * platform): {@code firstSeq:8 lastSeq:8} then the owner's body ({@link LogOutput}). A record
 * is at most {@link #MAX_RECORD_BYTES}: Chronicle caps a document at a quarter of the block
 * size, {@value #BLOCK_SIZE_BYTES} bytes.
 *
 * <h2>Files: Chronicle's roll cycles, rolled by size</h2>
 * The log directory is one Chronicle queue ({@code metadata.cq4t} and one data file per cycle)
 * plus {@code log.properties} (format, kind and owner, checked on open) and {@code log.lock} (an
 * OS file lock: one process, one instance). The queue's {@link TimeProvider} is the engine's
 * cycle clock: Chronicle rolls to the next cycle (writing the end-of-file marker, creating the
 * next file, and its tailers follow) when the clock says so, and the engine advances the clock
 * when the current file has reached {@link Options#segmentBytes()}, and once on every open (so
 * an appender never writes after a tail a crash may have torn). Cycles are {@link
 * LargeRollCycles#LARGE_DAILY}'s (2^37 records per file). The engine keeps, per cycle, the seq
 * of its first record; the record holding seq {@code s} is then found with
 * {@code moveToIndex} (an index lookup, and for seq-range records a binary search over the
 * cycle's indices), never by scanning.
 *
 * <h2>Recovery (one scan for every stream)</h2>
 * Chronicle marks a document header complete only after its body is written, so a record torn
 * by a kill -9 is never read: the log ends at its last whole record. On open the engine reads
 * the first and the last record of every cycle: each cycle must start right after the one
 * before (a gap throws {@link LogException}), a cycle without a whole record (a crash during
 * its first append) is deleted, and the last record gives {@link #lastSeq()}. Then every file
 * is synced, so what was recovered is durable and may be acknowledged.
 *
 * <h2>Sync: group commit from any thread</h2>
 * {@link #sync} makes durable every record whose {@link #commitAppend} returned before it
 * started. It may run on another thread than the appends (the agent's group committer does),
 * concurrently with them. Chronicle's own sync, {@code ExcerptAppender.sync()}, is an msync of
 * the appender's current mapping and belongs to the appender's thread, so it cannot serve a
 * group commit on another thread; the engine instead forces the cycle files Chronicle reports
 * through its {@link StoreFileListener} ({@code onAcquired}) with fdatasync on a descriptor of
 * its own. On Linux both write back the same pages (msync(MS_SYNC) of a shared mapping is an
 * fdatasync of the file range). A sealed file is forced once, then never again; the directory
 * entry of a new file is made durable with it.
 *
 * <h2>Release and retention</h2>
 * {@link #release}(seq) drops every sealed cycle whose records all end at or before seq, never
 * the one being appended to. Deletion is crash safe: the file is renamed aside
 * ({@code *.cq4.released}, an atomic step) and then deleted, and open finishes a deletion a crash
 * cut short, so recovery never sees half a release as a gap. A file a tailer or the appender
 * still holds is deleted when Chronicle reports it released ({@code StoreFileListener.onReleased}).
 *
 * <h2>Threads</h2>
 * One append thread owns the appender ({@link #beginAppend}/{@link #commitAppend}); it is the
 * thread that opened the log or the one it is handed to. {@link #sync}, {@link #release},
 * {@link #bytesOnDisk}, {@link #firstSeq}, {@link #lastSeq} and {@link #reader} are
 * thread-safe; a {@link LogReader} is owned by one thread. The cycle list is a copy-on-write
 * array in a volatile field; {@link #lastSeq} is volatile and publishes the appender's writes.
 *
 * <h2>Chronicle's own threads and the network</h2>
 * Before Chronicle loads, this class sets (unless already set) the system properties that turn
 * off its usage analytics and banner, its disk-space monitor and its background resource
 * releaser, so {@link #close} leaves no thread running. The same flags are in bin/jvm-flags.
 */
public final class RecordLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RecordLog.class);

    /** Largest record (seq header and body). */
    public static final int MAX_RECORD_BYTES = 60 << 20;
    /** Chronicle block size: at least four times the largest record, as Chronicle requires. */
    static final long BLOCK_SIZE_BYTES = 256L << 20;
    /** Bytes of the engine's header in front of every record's body. */
    public static final int SEQ_HEADER_BYTES = 16;
    /** Chronicle's header in front of every document (length and state). */
    static final int DOCUMENT_HEADER_BYTES = 4;
    static final int FORMAT = 2;
    /**
     * How long Chronicle waits on an incomplete document header before it takes it for a dead
     * writer's and overwrites it. One writer per log (the file lock), so at open an incomplete
     * header is a dead process's; Chronicle's default is 10 s.
     */
    static final long TORN_HEADER_TIMEOUT_MS = 500;
    static final RollCycle ROLL_CYCLE = LargeRollCycles.LARGE_DAILY;

    private static final String PROPERTIES_FILE = "log.properties";
    private static final String LOCK_FILE = "log.lock";
    private static final String DATA_SUFFIX = ".cq4";
    private static final String RELEASED_SUFFIX = ".released";
    /** Log directories open in this JVM: POSIX record locks do not exclude the same process. */
    private static final Set<Path> OPEN_DIRS = ConcurrentHashMap.newKeySet();

    static {
        setDefaultProperty("chronicle.analytics.disable", "true");
        setDefaultProperty("chronicle.announcer.disable", "true");
        setDefaultProperty("chronicle.disk.monitor.disable", "true");
        setDefaultProperty("background.releaser", "false");
    }

    /**
     * Tuning of a log: the size at which the engine rolls to the next cycle file, and whether an
     * entry may take several records ({@code parts}: a record may repeat the seqs of the one
     * before it, as the parts of an undo pre-image do; the engine then never rolls between them).
     */
    public record Options(long segmentBytes, boolean parts, SyncMethod syncMethod) {
        public static final long MIN_SEGMENT_BYTES = 4 << 10;
        public static final long DEFAULT_SEGMENT_BYTES = 256L << 20;

        public Options {
            requireSegmentBytes(segmentBytes, "log segment size");
            Objects.requireNonNull(syncMethod, "syncMethod");
        }

        /** Checks a configured segment size; {@code what} names it in the message. */
        public static void requireSegmentBytes(long segmentBytes, String what) {
            if (segmentBytes < MIN_SEGMENT_BYTES) {
                throw new IllegalArgumentException(what + " must be at least " + MIN_SEGMENT_BYTES + ", got "
                        + segmentBytes);
            }
        }

        public Options(long segmentBytes) {
            this(segmentBytes, false, SyncMethod.FDATASYNC);
        }

        public Options(long segmentBytes, boolean parts) {
            this(segmentBytes, parts, SyncMethod.FDATASYNC);
        }
    }

    /**
     * How {@link #sync} writes back the file being appended to. Every stream uses
     * {@link #FDATASYNC}; {@link #CHRONICLE_MSYNC} is Chronicle's own {@code ExcerptAppender.sync()}
     * (an msync(MS_SYNC) of the appender's current mapping: the queue is built with
     * {@code SyncMode.SYNC}, Chronicle's default ASYNC returns before anything is durable), kept
     * so that the two can be measured against
     * each other (bench: JournalSyncBenchmark). It only serves a log whose {@link #sync} runs on
     * the append thread, and covers only the appender's current chunk (the engine still forces
     * sealed files and new directory entries itself).
     */
    public enum SyncMethod {
        FDATASYNC,
        CHRONICLE_MSYNC
    }

    /** One cycle file and what the engine knows of it. */
    static final class Cycle {
        final int number;
        final long firstSeq;
        /** Seqs of the first record; of the last one, and its end in the file (written by the append thread). */
        long firstRecordLastSeq;
        /** Where the first record starts in the file (after Chronicle's header and index area). */
        long startPosition;
        long lastRecordFirstSeq;
        volatile long lastSeq;
        volatile long endPosition;
        /** No record will be appended any more: set before the next cycle is published. */
        volatile boolean sealed;
        /** Guarded by the sync lock. */
        FileChannel syncChannel;
        boolean durable;
        boolean nameDurable;
        /** Guarded by the cycle lock. */
        boolean released;

        Cycle(int number, long firstSeq) {
            this.number = number;
            this.firstSeq = firstSeq;
            this.lastSeq = firstSeq - 1;
        }
    }

    private final Path dir;
    private final String name;
    private final Options options;
    private final FileChannel lockChannel;
    private final FileLock fileLock;
    private final CycleFiles files = new CycleFiles();
    /** The queue's time: {@code cycle} days after the epoch, so that Chronicle's cycle is this one. */
    private volatile int clockCycle;
    private SingleChronicleQueue queue;

    /** Guards changes of the cycle list and {@link Cycle#released}. */
    private final Object cycleLock = new Object();
    /** Guards the sync channels; held for the duration of a sync. */
    private final Object syncLock = new Object();
    private volatile Cycle[] cycles = new Cycle[0];
    private volatile long lastSeq;
    /** First seq of the last record (the seqs a part may repeat). */
    private long lastRecordFirstSeq;
    private volatile boolean closed;

    // Owned by the append thread.
    private ExcerptAppender appender;
    private final LogOutput output = new LogOutput();
    private DocumentContext appending;
    private long appendingFirstSeq;
    private long appendingLastSeq;
    private long appendingStart;
    private boolean needNewCycle = true;
    private Cycle current;

    private RecordLog(Path dir, String name, Options options, FileChannel lockChannel, FileLock fileLock) {
        this.dir = dir;
        this.name = name;
        this.options = options;
        this.lockChannel = lockChannel;
        this.fileLock = fileLock;
    }

    /**
     * Opens (creating if needed) the log in {@code dir}: recovers {@link #firstSeq()} and
     * {@link #lastSeq()}, including after a crash, and syncs what it found. {@code kind} and
     * {@code owner} (the group) are written to the log's properties on creation and must match
     * on every open. {@code name} names the log in messages ("journal of group g"). The calling
     * thread becomes the append thread (it may hand the log to another one before appending).
     *
     * @throws LogException when the directory holds another kind's or owner's log, is open
     *         already, is not readable as a log, or has a gap between files
     */
    public static RecordLog open(Path dir, String kind, String owner, String name, Options options) {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(options, "options");
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new LogException("ferry's logs are little-endian; this platform is not");
        }
        Path realDir;
        try {
            PrivateFiles.directories(dir);
            realDir = dir.toRealPath();
        } catch (IOException e) {
            throw new LogException("cannot create the directory " + dir + " of the " + name + ": " + e, e);
        }
        if (!OPEN_DIRS.add(realDir)) {
            throw new LogException("the " + name + " in " + dir + " is already open in this process; close it first");
        }
        FileChannel lockChannel = null;
        RecordLog log = null;
        try {
            lockChannel = FileChannel.open(realDir.resolve(LOCK_FILE), Set.of(StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE), PrivateFiles.fileAttribute());
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new LogException("the " + name + " in " + dir + " is already open in another process; stop it"
                        + " first");
            }
            checkProperties(realDir, kind, owner);
            log = new RecordLog(realDir, name, options, lockChannel, lock);
            log.recover();
            log.sync();
            restrictFiles(realDir);
            return log;
        } catch (IOException | RuntimeException e) {
            if (log != null) {
                log.closeQueue();
            }
            if (lockChannel != null) {
                try {
                    lockChannel.close();
                } catch (IOException ignored) {
                    // the open failure is what the caller needs to see
                }
            }
            OPEN_DIRS.remove(realDir);
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new LogException("cannot open the " + name + " in " + dir + ": " + e, e);
        }
    }

    public Path directory() {
        return dir;
    }

    /** Makes the files Chronicle created in {@code dir} (metadata, cycles) private, 0600. */
    private static void restrictFiles(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(file)) {
                    PrivateFiles.restrict(file);
                }
            }
        }
    }

    /** Last seq of the last record appended (recovered on open), 0 for an empty log. */
    public long lastSeq() {
        return lastSeq;
    }

    /** The first seq still held: the first of the oldest cycle, or {@code lastSeq() + 1} when none. */
    public long firstSeq() {
        Cycle[] cs = cycles;
        long last = lastSeq;
        return cs.length == 0 ? last + 1 : Math.min(cs[0].firstSeq, last + 1);
    }

    /**
     * Starts the record of seqs {@code firstSeq..lastSeq} and returns where its body goes. The
     * record is in the log once {@link #commitAppend} returns, durable after a {@link #sync}
     * that starts after that. Append thread only, one record at a time.
     *
     * @throws IllegalArgumentException for {@code firstSeq != lastSeq() + 1} or {@code lastSeq < firstSeq}
     */
    public LogOutput beginAppend(long firstSeq, long lastSeq) {
        if (closed) {
            throw new IllegalStateException("the " + name + " is closed");
        }
        if (appending != null) {
            throw new IllegalStateException("the " + name + ": an append is already in progress");
        }
        long expected = this.lastSeq + 1;
        boolean part = options.parts() && firstSeq == lastRecordFirstSeq && lastSeq == this.lastSeq;
        if (!part && (firstSeq != expected || lastSeq < firstSeq)) {
            throw new IllegalArgumentException("the " + name + ": append of seq " + (firstSeq == lastSeq ? firstSeq
                    : firstSeq + ".." + lastSeq) + " rejected, the next record must start at seq " + expected
                    + " (the next seq must be " + expected + ", lastSeq + 1)");
        }
        if (!needNewCycle && !part && current.endPosition - current.startPosition >= options.segmentBytes()) {
            needNewCycle = true;
            clockCycle = current.number + 1;
        }
        appending = appender.writingDocument();
        Bytes<?> bytes = appending.wire().bytes();
        appendingStart = bytes.writePosition() - DOCUMENT_HEADER_BYTES;
        bytes.writeLong(firstSeq).writeLong(lastSeq);
        appendingFirstSeq = firstSeq;
        appendingLastSeq = lastSeq;
        output.bind(bytes);
        return output;
    }

    /** Completes the record started by {@link #beginAppend}. Append thread only. */
    public void commitAppend() {
        DocumentContext dc = requireAppending();
        long end = output.position();
        try {
            dc.close();
        } finally {
            appending = null;
        }
        if (needNewCycle) {
            Cycle next = new Cycle(appender.cycle(), appendingFirstSeq);
            next.startPosition = appendingStart;
            synchronized (cycleLock) {
                Cycle[] old = cycles;
                Cycle[] updated = Arrays.copyOf(old, old.length + 1);
                updated[old.length] = next;
                if (current != null) {
                    current.sealed = true;
                } else if (old.length > 0) {
                    old[old.length - 1].sealed = true;
                }
                cycles = updated;
            }
            current = next;
            needNewCycle = false;
        }
        current.endPosition = end;
        current.lastRecordFirstSeq = appendingFirstSeq;
        current.lastSeq = appendingLastSeq;
        lastRecordFirstSeq = appendingFirstSeq;
        lastSeq = appendingLastSeq;
    }

    /** Drops the record started by {@link #beginAppend} (after a failure writing its body). */
    public void abortAppend() {
        DocumentContext dc = requireAppending();
        try {
            dc.rollbackOnClose();
            dc.close();
        } finally {
            appending = null;
        }
    }

    private DocumentContext requireAppending() {
        if (appending == null) {
            throw new IllegalStateException("the " + name + ": no append in progress");
        }
        return appending;
    }

    /**
     * Makes every record whose {@link #commitAppend} returned before this call started durable
     * (see the class comment). Any thread, concurrently with appends; concurrent calls are
     * serialised. Records committed during the call may or may not be made durable by it.
     *
     * @throws LogException if a sync fails; the durability of the records is then unknown
     */
    public void sync() {
        synchronized (syncLock) {
            if (closed) {
                throw new IllegalStateException("the " + name + " is closed");
            }
            forceAll();
        }
    }

    private void forceAll() {
        Cycle[] cs = cycles;
        boolean dirDirty = false;
        for (Cycle c : cs) {
            if (c.durable) {
                continue;
            }
            boolean sealed = c.sealed;
            try {
                if (!sealed && c == current && options.syncMethod() == SyncMethod.CHRONICLE_MSYNC) {
                    appender.sync();
                    dirDirty |= !c.nameDurable;
                    continue;
                }
                if (c.syncChannel == null) {
                    File file = files.of(c.number);
                    if (file == null) {
                        throw new LogException("the " + name + ": Chronicle named no file for cycle " + c.number);
                    }
                    c.syncChannel = FileChannel.open(file.toPath(), StandardOpenOption.WRITE);
                }
                c.syncChannel.force(false);
                if (!c.nameDurable) {
                    dirDirty = true;
                }
            } catch (IOException e) {
                throw new LogException("the " + name + ": sync of cycle " + c.number + " in " + dir + " failed: " + e, e);
            }
            if (sealed) {
                c.durable = true;
                closeSyncChannel(c);
            }
        }
        if (dirDirty) {
            try {
                Path metadata = dir.resolve(SingleChronicleQueue.QUEUE_METADATA_FILE);
                if (Files.exists(metadata)) {
                    forcePath(metadata);
                }
                forcePath(dir);
            } catch (IOException e) {
                throw new LogException("the " + name + ": sync of the directory " + dir + " failed: " + e, e);
            }
            for (Cycle c : cs) {
                c.nameDurable = true;
            }
        }
    }

    private void closeSyncChannel(Cycle c) {
        FileChannel channel = c.syncChannel;
        c.syncChannel = null;
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                throw new LogException("the " + name + ": cannot close cycle file " + c.number + ": " + e, e);
            }
        }
    }

    /**
     * A reader whose first {@link LogReader#next} returns the record holding {@code fromSeq};
     * a reader of {@code lastSeq() + 1} tails (returns records as they are committed).
     *
     * @throws IllegalArgumentException for a seq already released or above {@code lastSeq() + 1}
     */
    public LogReader reader(long fromSeq) {
        long first = firstSeq();
        long last = lastSeq;
        if (fromSeq < first) {
            throw new IllegalArgumentException("the " + name + ": cannot read from seq " + fromSeq
                    + ", it was released; the log holds seqs " + first + ".." + last);
        }
        if (fromSeq > last + 1) {
            throw new IllegalArgumentException("the " + name + ": cannot read from seq " + fromSeq
                    + ", it is not appended yet; the last seq is " + last);
        }
        LogReader reader = new LogReader(this, queue.createTailer(), true);
        try {
            reader.positionAt(fromSeq, last);
            return reader;
        } catch (RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    /** A reader that returns the records newest first (Chronicle's backward tailer), from the last one. */
    public LogReader newestFirst() {
        LogReader reader = new LogReader(this, queue.createTailer(), false);
        reader.positionAtEnd();
        return reader;
    }

    /**
     * Drops every sealed cycle whose records all end at or before {@code seq}, never the one
     * being appended to; {@link #firstSeq()} moves to the oldest cycle left. Any thread. A reader
     * inside a dropped file can finish it. Returns the number of files dropped.
     */
    public int release(long seq) {
        List<Cycle> removed = new ArrayList<>();
        synchronized (cycleLock) {
            Cycle[] cs = cycles;
            int n = 0;
            while (n < cs.length - 1 && cs[n].sealed && cs[n + 1].firstSeq - 1 <= seq) {
                n++;
            }
            if (n == 0) {
                return 0;
            }
            for (int i = 0; i < n; i++) {
                cs[i].released = true;
                removed.add(cs[i]);
            }
            cycles = Arrays.copyOfRange(cs, n, cs.length);
        }
        for (Cycle c : removed) {
            synchronized (syncLock) {
                c.durable = true;
                closeSyncChannel(c);
            }
            files.release(c.number);
        }
        return removed.size();
    }

    /** Drops every cycle, the current one too, and goes on after {@code seq}: the log then holds nothing. */
    public void startOver(long seq) {
        synchronized (syncLock) { // a sync on another thread must not touch the queue being closed
            startOverLocked(seq);
        }
    }

    private void startOverLocked(long seq) {
        if (appending != null) {
            abortAppend();
        }
        closeQueue();
        synchronized (syncLock) {
            for (Cycle c : cycles) {
                c.durable = true;
                closeSyncChannel(c);
            }
        }
        try {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
                for (Path p : entries) {
                    String n = p.getFileName().toString();
                    if (n.endsWith(DATA_SUFFIX) || n.equals(SingleChronicleQueue.QUEUE_METADATA_FILE)) {
                        deleteAside(p);
                    }
                }
            }
            forcePath(dir);
        } catch (IOException e) {
            throw new LogException("the " + name + ": cannot delete the files in " + dir + ": " + e, e);
        }
        synchronized (cycleLock) {
            cycles = new Cycle[0];
        }
        files.clear();
        lastSeq = seq;
        lastRecordFirstSeq = 0;
        current = null;
        needNewCycle = true;
        clockCycle = 0;
        openQueue();
    }

    /**
     * Bytes the records take in the cycle files: from the first record of each file to the end
     * of its last, Chronicle's document headers included, its per-file header and first index
     * not (the files are sparse and preallocated by block, so their length overstates what is
     * used). Any thread.
     */
    public long bytesOnDisk() {
        long sum = 0;
        if (lastSeq >= 0) { // the volatile read makes the appender's latest endPosition visible
            for (Cycle c : cycles) {
                sum += c.endPosition - c.startPosition;
            }
        }
        return sum;
    }

    /** Number of cycle files held. */
    public int fileCount() {
        return cycles.length;
    }

    /** The first seq of each cycle file held, oldest first. */
    public long[] fileFirstSeqs() {
        Cycle[] cs = cycles;
        long[] seqs = new long[cs.length];
        for (int i = 0; i < cs.length; i++) {
            seqs[i] = cs[i].firstSeq;
        }
        return seqs;
    }

    /**
     * Syncs (a clean shutdown leaves everything durable), then releases the appender, the mapped
     * files, the sync descriptors and the directory lock. Call it after the append thread, the
     * sync thread and the readers are done. Idempotent.
     */
    @Override
    public void close() {
        synchronized (syncLock) {
            if (closed) {
                return;
            }
            RuntimeException failure = null;
            try {
                if (appending != null) {
                    abortAppend();
                }
                forceAll();
            } catch (RuntimeException e) {
                failure = e;
            }
            closed = true;
            try {
                closeQueue();
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
            for (Cycle c : cycles) {
                try {
                    closeSyncChannel(c);
                } catch (RuntimeException e) {
                    failure = failure == null ? e : failure;
                }
            }
            try {
                fileLock.release();
                lockChannel.close();
            } catch (IOException e) {
                failure = failure == null ? new LogException("the " + name + ": cannot release the lock of " + dir
                        + ": " + e, e) : failure;
            }
            OPEN_DIRS.remove(dir);
            if (failure != null) {
                throw failure;
            }
        }
    }

    // ---- used by the reader ----

    String name() {
        return name;
    }

    Cycle[] cycles() {
        return cycles;
    }

    boolean parts() {
        return options.parts();
    }

    long toIndex(int cycle, long sequenceInCycle) {
        return ROLL_CYCLE.toIndex(cycle, sequenceInCycle);
    }

    // ---- recovery ----

    private void recover() throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "*" + RELEASED_SUFFIX)) {
            for (Path p : entries) {
                Files.deleteIfExists(p); // a release a crash cut short
            }
        }
        openQueue();
        List<Cycle> found = new ArrayList<>();
        List<Integer> empty = new ArrayList<>();
        int maxCycle = -1;
        int first = queue.firstCycle();
        int last = queue.lastCycle();
        if (first != Integer.MAX_VALUE && last >= 0) {
            try (ExcerptTailer tailer = queue.createTailer()) {
                long[] seqs = new long[4];
                for (long cycleNumber : queue.listCyclesBetween(first, last)) {
                    int cycle = (int) cycleNumber;
                    maxCycle = Math.max(maxCycle, cycle);
                    long count = tailer.excerptsInCycle(cycle);
                    if (count <= 0) {
                        empty.add(cycle);
                        continue;
                    }
                    readAt(tailer, cycle, 0, seqs);
                    Cycle c = new Cycle(cycle, seqs[0]);
                    c.firstRecordLastSeq = seqs[1];
                    c.startPosition = seqs[3] - DOCUMENT_HEADER_BYTES;
                    readAt(tailer, cycle, count - 1, seqs);
                    c.lastRecordFirstSeq = seqs[0];
                    c.lastSeq = seqs[1];
                    c.endPosition = seqs[2];
                    if (!options.parts() && c.lastSeq - c.firstSeq + 1 < count) {
                        throw new LogException("the " + name + " in " + dir + ": cycle " + cycle + " holds " + count
                                + " records for seqs " + c.firstSeq + ".." + c.lastSeq + "; it is not a ferry log or"
                                + " is damaged");
                    }
                    if (!found.isEmpty()) {
                        Cycle before = found.get(found.size() - 1);
                        boolean continued = options.parts() && before.lastRecordFirstSeq == c.firstSeq
                                && before.lastSeq == c.firstRecordLastSeq;
                        if (before.lastSeq + 1 != c.firstSeq && !continued) {
                            throw new LogException("the " + name + " in " + dir + " has a gap: cycle " + before.number
                                    + " ends at seq " + before.lastSeq + " but the next starts at seq " + c.firstSeq
                                    + ". The records after the gap cannot be used in order; move the directory aside"
                                    + " and let the group resync.");
                        }
                        before.sealed = true;
                    }
                    found.add(c);
                }
            }
        }
        if (!empty.isEmpty()) {
            // Files without a whole record (a crash during a cycle's first append): a tailer would
            // wait on the torn header for good. Delete them and reopen the queue without them.
            closeQueue();
            for (int cycle : empty) {
                File file = files.of(cycle);
                if (file != null) {
                    Files.deleteIfExists(file.toPath());
                }
            }
            forcePath(dir);
            openQueue();
        }
        if (!found.isEmpty()) {
            found.get(found.size() - 1).sealed = true; // appends go to a fresh cycle
        }
        cycles = found.toArray(new Cycle[0]);
        lastSeq = found.isEmpty() ? 0 : found.get(found.size() - 1).lastSeq;
        lastRecordFirstSeq = found.isEmpty() ? 0 : found.get(found.size() - 1).lastRecordFirstSeq;
        clockCycle = maxCycle + 1;
        needNewCycle = true;
    }

    /** Reads the seqs, end and start position of the record at {@code seqInCycle} of {@code cycle} into {@code out}. */
    private void readAt(ExcerptTailer tailer, int cycle, long seqInCycle, long[] out) {
        if (!tailer.moveToIndex(toIndex(cycle, seqInCycle))) {
            throw new LogException("the " + name + " in " + dir + ": cannot position at record " + seqInCycle
                    + " of cycle " + cycle);
        }
        try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent()) {
                throw new LogException("the " + name + " in " + dir + ": record " + seqInCycle + " of cycle " + cycle
                        + " is not readable");
            }
            Bytes<?> bytes = dc.wire().bytes();
            if (bytes.readRemaining() < SEQ_HEADER_BYTES) {
                throw new LogException("the " + name + " in " + dir + ": record " + seqInCycle + " of cycle " + cycle
                        + " is too short to be a ferry log record");
            }
            out[3] = bytes.readPosition();
            out[0] = bytes.readLong();
            out[1] = bytes.readLong();
            out[2] = bytes.readLimit();
        }
    }

    private void openQueue() {
        queue = SingleChronicleQueueBuilder.binary(dir)
                // Chronicle's default is ASYNC: msync(MS_ASYNC), which starts writeback and returns
                // before anything is durable. SYNC waits for it.
                .syncMode(options.syncMethod() == SyncMethod.CHRONICLE_MSYNC ? SyncMode.SYNC : SyncMode.NONE)
                .rollCycle(ROLL_CYCLE)
                .timeProvider(() -> (long) clockCycle * ROLL_CYCLE.lengthInMillis())
                .blockSize(BLOCK_SIZE_BYTES)
                .timeoutMS(TORN_HEADER_TIMEOUT_MS)
                .storeFileListener(files)
                .build();
        appender = queue.createAppender();
        appender.singleThreadedCheckDisabled(true);
    }

    private void closeQueue() {
        try {
            if (appender != null) {
                appender.close();
            }
        } finally {
            appender = null;
            if (queue != null) {
                queue.close();
                queue = null;
            }
        }
    }

    private static void checkProperties(Path dir, String kind, String owner) throws IOException {
        Path file = dir.resolve(PROPERTIES_FILE);
        String expected = "format=" + FORMAT + "\nkind=" + kind + "\ngroup=" + owner + "\n";
        if (!Files.exists(file)) {
            if (Files.exists(dir.resolve("journal.properties"))) {
                throw new LogException("the directory " + dir + " holds a format 1 journal (journal.properties);"
                        + " drain it with the ferry release that wrote it, or move it aside and let the group resync");
            }
            Path tmp = dir.resolve(PROPERTIES_FILE + ".tmp");
            Files.write(tmp, expected.getBytes(StandardCharsets.UTF_8));
            forcePath(tmp);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            forcePath(dir);
            return;
        }
        String actual = Files.readString(file, StandardCharsets.UTF_8);
        if (!actual.equals(expected)) {
            throw new LogException("the directory " + dir + " does not hold the format " + FORMAT + " " + kind
                    + " of group " + owner + " (" + PROPERTIES_FILE + " says: " + actual.trim().replace('\n', ' ')
                    + "); give each group's " + kind + " its own directory");
        }
    }

    /** Renames {@code file} aside (atomic), then deletes it: a crash in between leaves a leftover open deletes. */
    private static void deleteAside(Path file) throws IOException {
        Path aside = file.resolveSibling(file.getFileName() + RELEASED_SUFFIX);
        Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
        Files.delete(aside);
    }

    /** fsync of a file or directory, so that its content or the names in it are durable. */
    static void forcePath(Path p) throws IOException {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    private static void setDefaultProperty(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /**
     * Chronicle's {@link StoreFileListener}: learns the file of every cycle as Chronicle acquires
     * it, counts who holds it, and deletes a released cycle's file once nobody does. Called on the
     * thread that acquires or releases a store (the background releaser is off).
     */
    private final class CycleFiles implements StoreFileListener {
        private final Map<Integer, File> byCycle = new HashMap<>();
        private final Map<Integer, Integer> holders = new HashMap<>();
        private final Set<Integer> toDelete = new HashSet<>();

        @Override
        public synchronized void onAcquired(int cycle, File file) {
            if (byCycle.put(cycle, file) == null) {
                try {
                    // Chronicle creates its files (this cycle's, and its metadata file lazily) as the umask says
                    restrictFiles(file.toPath().getParent());
                } catch (IOException e) {
                    LOG.warn("cannot make the files of {} private (0600): {}", file.getParent(), e.toString());
                }
            }
            holders.merge(cycle, 1, Integer::sum);
        }

        @Override
        public void onReleased(int cycle, File file) {
            boolean delete;
            synchronized (this) {
                Integer n = holders.get(cycle);
                int left = n == null ? 0 : n - 1;
                if (left > 0) {
                    holders.put(cycle, left);
                } else {
                    holders.remove(cycle);
                }
                delete = left == 0 && toDelete.remove(cycle);
            }
            if (delete) {
                delete(cycle, file);
            }
        }

        synchronized File of(int cycle) {
            return byCycle.get(cycle);
        }

        /** The cycle is released: delete its file now, or when its last holder lets it go. */
        void release(int cycle) {
            File file;
            synchronized (this) {
                file = byCycle.get(cycle);
                if (holders.containsKey(cycle)) {
                    toDelete.add(cycle);
                    return;
                }
            }
            delete(cycle, file);
        }

        private void delete(int cycle, File file) {
            if (file == null) {
                return;
            }
            try {
                deleteAside(file.toPath());
            } catch (IOException e) {
                throw new LogException("the " + name + ": cannot delete the released file " + file + ": " + e, e);
            }
            synchronized (this) {
                byCycle.remove(cycle);
            }
        }

        synchronized void clear() {
            byCycle.clear();
            holders.clear();
            toDelete.clear();
        }
    }
}
