package io.ferry.replica.undo;

import io.ferry.daemon.PrivateFiles;
import io.ferry.delta.Delta;
import io.ferry.log.LogException;
import io.ferry.log.LogInput;
import io.ferry.log.LogOutput;
import io.ferry.log.LogReader;
import io.ferry.log.RecordLog;
import io.ferry.volume.VolumeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4FastDecompressor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The undo log of one group: before the applier overwrites replica bytes it records their old
 * contents (the <em>pre-image</em> of a delta), so the replicas can be rolled back to any
 * recovery point whose seq is at least {@link #baseSeq()}, newest record first.
 *
 * <h2>Layout</h2>
 * A log of the shared engine ({@link RecordLog}, opened with parts): a delta's pre-image is one
 * or more records with the delta's seq range, numbered from 0; its last record carries
 * {@link #FLAG_FINAL}. After the engine's seq header a record's body is (little-endian)
 * <pre>
 *   flags:4 part:4 crc32c:4   (crc32c of the rest)
 *   extentCount:4 rawLength:4 storedLength:4 (-1: stored raw)
 *   extentCount x (volume:2 type:1 pad:1 offset:8 length:8)  data:storedLength (LZ4 or raw)
 * </pre>
 * A WRITE extent's old bytes are in the data; a ZERO extent was a hole or zeroes and carries no
 * data. {@link #rollback} reads the log newest first (the engine's backward tailer).
 *
 * <h2>Durability and crash recovery</h2>
 * The applier appends a delta's pre-image and {@link #sync}s it before it writes any of the
 * delta to the replicas, so every replica byte that changed has its old value on disk. After a
 * crash the engine ends the log at its last whole record; parts after the last FINAL record
 * belong to a delta none of whose writes happened: they stay in the file but are never
 * restored (a rollback skips records until a FINAL one, and takes only the parts numbered
 * right before it), and the replay records that delta again after them. A pre-image recorded
 * before a crash whose delta was not counted as applied is kept: the replay must not record it
 * again ({@link #lastSeq()} tells which deltas are covered), because the replica may already
 * hold part of that delta.
 *
 * <h2>Threads</h2>
 * Owned by the group's applier thread (append, sync, release); {@link #rollback} runs while the
 * applier is paused. {@link #bytesOnDisk()}, {@link #baseSeq()} and {@link #lastSeq()} may be
 * read from any thread.
 */
public final class UndoLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UndoLog.class);

    static final String KIND = "undo-log";
    static final int FLAG_FINAL = 1;
    /** flags, part, crc32c, extentCount, rawLength, storedLength. */
    static final int BODY_FIXED_BYTES = 24;
    /** The part of the fixed body the checksum covers (extentCount, rawLength, storedLength). */
    static final int CHECKED_FIXED_BYTES = 12;
    static final int EXTENT_BYTES = 20;
    static final byte WRITE = 1;
    static final byte ZERO = 2;
    private static final String LEGACY_SUFFIX = ".undo";
    private static final LZ4Factory LZ4 = io.ferry.delta.Lz4Native.lz4();

    /** Tuning: segment size and the most pre-image data one record holds. */
    public record Options(long segmentBytes, int maxRecordDataBytes) {
        public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
        public static final int DEFAULT_MAX_RECORD_DATA_BYTES = 8 << 20;

        public Options {
            if (segmentBytes < 4096 || maxRecordDataBytes < 4096) {
                throw new IllegalArgumentException("undo segmentBytes and maxRecordDataBytes must be >= 4096, got "
                        + segmentBytes + " and " + maxRecordDataBytes);
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_SEGMENT_BYTES, DEFAULT_MAX_RECORD_DATA_BYTES);
        }
    }

    /** Where {@link #rollback} writes old contents back. */
    public interface Target {
        void write(int volume, long offset, ByteBuffer data) throws IOException;

        void zero(int volume, long offset, long length) throws IOException;
    }

    private final RecordLog log;
    private final String group;
    private final Options options;
    private final LZ4Compressor compressor = LZ4.fastCompressor();
    private final LZ4FastDecompressor decompressor = LZ4.fastDecompressor();
    private final CRC32C crc = new CRC32C();

    private volatile long baseSeq;
    private volatile long lastSeq;

    // Owned by the applier thread.
    private boolean unsynced;

    // The pre-image being built.
    private long buildFirstSeq;
    private long buildLastSeq;
    private boolean building;
    private int part;
    private final ByteBuffer extents;
    private final ByteBuffer data;
    private final ByteBuffer checked;
    private ByteBuffer stored;
    private int extentCount;

    private UndoLog(RecordLog log, String group, Options options) {
        this.log = log;
        this.group = group;
        this.options = options;
        int maxExtents = Math.max(1024, options.maxRecordDataBytes() / 4096 * 2);
        this.extents = ByteBuffer.allocate(maxExtents * EXTENT_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        this.checked = ByteBuffer.allocate(CHECKED_FIXED_BYTES + extents.capacity()).order(ByteOrder.LITTLE_ENDIAN);
        this.data = ByteBuffer.allocateDirect(options.maxRecordDataBytes());
        this.stored = ByteBuffer.allocateDirect(compressor.maxCompressedLength(options.maxRecordDataBytes()));
    }

    /**
     * Opens (creating) the undo log of {@code group} in {@code dir} for replicas applied up to
     * {@code appliedSeq}, after a crash too. When the log does not reach {@code appliedSeq} (it
     * was deleted, or the group predates it) it starts over at {@code appliedSeq}, and earlier
     * points cannot be rolled back to.
     */
    public static UndoLog open(Path dir, String group, long appliedSeq, Options options) throws IOException {
        Objects.requireNonNull(options, "options");
        PrivateFiles.directories(dir);
        moveLegacySegmentsAside(dir, group);
        RecordLog log;
        try {
            log = RecordLog.open(dir, KIND, group, "undo log of group " + group,
                    new RecordLog.Options(options.segmentBytes(), true));
        } catch (LogException e) {
            throw new IOException(e.getMessage(), e);
        }
        UndoLog undo = new UndoLog(log, group, options);
        try {
            undo.recover(appliedSeq);
        } catch (IOException | RuntimeException e) {
            log.close();
            throw e;
        }
        return undo;
    }

    /**
     * Segment files of the format before the log engine: this version cannot roll back through
     * them, so the log starts over; they are moved aside (never deleted: that is the operator's
     * call) to {@code <group dir>/undo-format1/}, with a log line saying so.
     */
    private static void moveLegacySegmentsAside(Path dir, String group) throws IOException {
        Path aside = dir.resolveSibling(dir.getFileName() + "-format1");
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "seg-*" + LEGACY_SUFFIX)) {
            for (Path f : files) {
                Files.createDirectories(aside);
                Files.move(f, aside.resolve(f.getFileName()), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                LOG.warn("group {}: undo segment {} is of an earlier format; moved to {} (points before the applied"
                        + " seq can no longer be rolled back to by this version; delete the directory when it is not"
                        + " needed)", group, f.getFileName(), aside);
            }
        }
    }

    private void recover(long appliedSeq) throws IOException {
        long last = -1;
        try (LogReader reader = log.newestFirst()) {
            while (reader.next()) {
                if ((reader.body().readInt() & FLAG_FINAL) != 0) {
                    last = reader.lastSeq();
                    break;
                }
            }
        }
        long first = log.firstSeq();
        if (last < 0 || last < appliedSeq || first > appliedSeq + 1) {
            if (log.lastSeq() > 0) {
                LOG.warn("group {}: the undo log in {} covers seqs {}..{}, not the applied seq {}; it starts over, and"
                        + " points before seq {} can no longer be rolled back to", group, log.directory(), first,
                        Math.max(last, first - 1), appliedSeq, appliedSeq);
            }
            startOver(appliedSeq);
        } else {
            baseSeq = first - 1;
            lastSeq = last;
        }
    }

    public Path directory() {
        return log.directory();
    }

    /** The oldest seq the replicas can be rolled back to. */
    public long baseSeq() {
        return baseSeq;
    }

    /** The last seq whose delta's pre-image is recorded whole. */
    public long lastSeq() {
        return lastSeq;
    }

    /** Bytes the records take in the log's files. */
    public long bytesOnDisk() {
        return log.bytesOnDisk();
    }

    /**
     * Records the pre-image of {@code delta} (validated: every extent lies inside
     * {@code replicas}) and syncs it, unless it is already recorded (a replay after a crash).
     * Holes of 64 KiB and more are recorded as zero extents without reading them. Call it before
     * any of the delta is written. Applier thread.
     */
    public void capture(Delta delta, VolumeFile[] replicas) throws IOException {
        if (delta.lastSeq() <= lastSeq) {
            return;
        }
        begin(delta.firstSeq(), delta.lastSeq());
        int count = delta.extentCount();
        for (int i = 0; i < count; i++) {
            int volume = delta.volumeIndex(i);
            VolumeFile file = replicas[volume];
            long offset = delta.offset(i);
            long end = offset + delta.length(i);
            if (end - offset < HOLE_CHECK_BYTES) {
                addData(volume, file, offset, end);
                continue;
            }
            while (offset < end) {
                runCount = 0;
                file.allocation(offset, end - offset, runLengths.length, this::onRun);
                if (runCount == 0) {
                    addData(volume, file, offset, end);
                    break;
                }
                for (int r = 0; r < runCount && offset < end; r++) {
                    long runEnd = Math.min(end, offset + runLengths[r]);
                    if (runHoles[r]) {
                        addZero(volume, offset, runEnd - offset);
                    } else {
                        addData(volume, file, offset, runEnd);
                    }
                    offset = runEnd;
                }
            }
        }
        finish();
        sync();
    }

    private static final long HOLE_CHECK_BYTES = 64 << 10;
    private final long[] runLengths = new long[64];
    private final boolean[] runHoles = new boolean[64];
    private int runCount;

    private void onRun(long lengthBytes, boolean hole) {
        if (runCount < runLengths.length && lengthBytes > 0) {
            runLengths[runCount] = lengthBytes;
            runHoles[runCount] = hole;
            runCount++;
        }
    }

    private void addData(int volume, VolumeFile file, long from, long to) throws IOException {
        long offset = from;
        while (offset < to) {
            int n = (int) Math.min(dataRoom(), to - offset);
            long at = offset;
            addWrite(volume, offset, n, dst -> file.read(at, dst));
            offset += n;
        }
    }

    /**
     * Starts the pre-image of the delta of seqs {@code firstSeq..lastSeq}, which must follow
     * {@link #lastSeq()}. Applier thread.
     */
    public void begin(long firstSeq, long lastSeq) {
        if (building) {
            throw new IllegalStateException("group " + group + ": pre-image of " + buildFirstSeq + ".." + buildLastSeq
                    + " is not finished");
        }
        if (firstSeq != this.lastSeq + 1 || lastSeq < firstSeq) {
            throw new IllegalArgumentException("group " + group + ": pre-image of seqs " + firstSeq + ".." + lastSeq
                    + " does not follow the undo log's last seq " + this.lastSeq);
        }
        buildFirstSeq = firstSeq;
        buildLastSeq = lastSeq;
        building = true;
        extents.clear();
        data.clear();
        extentCount = 0;
        part = 0;
    }

    /**
     * Room left for old bytes in the record being built; {@link #addWrite} of more than this
     * first writes out a part record. Never 0 right after a flush.
     */
    public int dataRoom() {
        return data.remaining();
    }

    /**
     * Adds old bytes of {@code [offset, offset + length)} of {@code volume}: {@code fill} reads
     * them straight into the log's buffer (exactly {@code length <= }{@link #dataRoom()} bytes).
     */
    public void addWrite(int volume, long offset, int length, Filler fill) throws IOException {
        if (length > data.remaining()) {
            throw new IllegalArgumentException("pre-image chunk of " + length + " bytes exceeds the room of "
                    + data.remaining());
        }
        ensureExtentRoom();
        ByteBuffer slice = data.slice(data.position(), length);
        fill.fill(slice);
        data.position(data.position() + length);
        putExtent(volume, WRITE, offset, length);
        if (!data.hasRemaining()) {
            writeRecord(0);
        }
    }

    /** Reads old replica bytes into {@code dst} (exactly its remaining bytes). */
    @FunctionalInterface
    public interface Filler {
        void fill(ByteBuffer dst) throws IOException;
    }

    /** Records that {@code [offset, offset + length)} of {@code volume} read as zeroes (a hole). */
    public void addZero(int volume, long offset, long length) throws IOException {
        ensureExtentRoom();
        putExtent(volume, ZERO, offset, length);
    }

    private void ensureExtentRoom() throws IOException {
        if (extents.remaining() < EXTENT_BYTES) {
            writeRecord(0);
        }
    }

    private void putExtent(int volume, byte type, long offset, long length) {
        extents.putShort((short) volume).put(type).put((byte) 0).putLong(offset).putLong(length);
        extentCount++;
    }

    /** Writes the pre-image's last record. It is durable only after {@link #sync}. */
    public void finish() throws IOException {
        if (!building) {
            throw new IllegalStateException("group " + group + ": finish without begin");
        }
        writeRecord(FLAG_FINAL);
        building = false;
        lastSeq = buildLastSeq;
    }

    private void writeRecord(int flags) throws IOException {
        int rawLength = data.position();
        int storedLength = -1;
        ByteBuffer payload = data.duplicate().flip();
        if (rawLength > 0) {
            stored.clear();
            int compressed = compressor.compress(payload, 0, rawLength, stored, 0, stored.capacity());
            if (compressed < rawLength) {
                storedLength = compressed;
                payload = stored.duplicate().position(0).limit(compressed);
            }
        }
        checked.clear();
        checked.putInt(extentCount).putInt(rawLength).putInt(storedLength);
        checked.put(extents.array(), 0, extentCount * EXTENT_BYTES);
        checked.flip();
        crc.reset();
        crc.update(checked.array(), 0, checked.limit());
        crc.update(payload.duplicate());
        try {
            LogOutput out = log.beginAppend(buildFirstSeq, buildLastSeq);
            try {
                out.writeInt(flags).writeInt(part).writeInt((int) crc.getValue()).write(checked).write(payload);
            } catch (RuntimeException | InternalError e) {
                log.abortAppend();
                throw e;
            }
            log.commitAppend();
        } catch (RuntimeException | InternalError e) {
            // InternalError: a write to a mapped page the file system had no room for (SIGBUS).
            // IllegalArgumentException: the log cannot take these seqs (after a crash it ends in
            // parts of another range). Either way the caller starts the log over.
            throw new IOException("group " + group + ": cannot append to the undo log in " + log.directory() + ": "
                    + e, e);
        }
        part++;
        unsynced = true;
        extents.clear();
        data.clear();
        extentCount = 0;
    }

    /** Makes every record appended so far durable. Applier thread. */
    public void sync() throws IOException {
        if (!unsynced) {
            return;
        }
        try {
            log.sync();
        } catch (LogException e) {
            throw new IOException(e.getMessage(), e);
        }
        unsynced = false;
    }

    /**
     * Deletes whole files all of whose deltas end at or before {@code seq}: the replicas can
     * then no longer be rolled back before {@link #baseSeq()}, which becomes at most
     * {@code seq}. The file being written is kept. Applier thread.
     */
    public void release(long seq) throws IOException {
        try {
            if (log.release(seq) > 0) {
                baseSeq = log.firstSeq() - 1;
            }
        } catch (LogException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * Gives up every recorded pre-image (after a failure to record one, a full disk say): all
     * files are deleted and the log goes on after {@code seq}, which becomes the oldest
     * recoverable seq. Applier thread.
     */
    public void startOver(long seq) throws IOException {
        building = false;
        unsynced = false;
        extents.clear();
        data.clear();
        extentCount = 0;
        try {
            log.startOver(seq);
        } catch (LogException e) {
            throw new IOException(e.getMessage(), e);
        }
        baseSeq = seq;
        lastSeq = seq;
    }

    /**
     * Deletes the oldest file, if another follows: how the applier keeps the log within its
     * byte bound. Returns false when only the file being written is left.
     */
    public boolean releaseOldest() throws IOException {
        return releaseOldestUpTo(Long.MAX_VALUE);
    }

    /**
     * As {@link #releaseOldest}, unless the log would then no longer reach {@code keepSeq}
     * (returns false then).
     */
    public boolean releaseOldestUpTo(long keepSeq) throws IOException {
        long[] firsts = log.fileFirstSeqs();
        if (firsts.length < 2 || firsts[1] - 1 > keepSeq) {
            return false;
        }
        release(firsts[1] - 1);
        return true;
    }

    /**
     * Writes the pre-images of every recorded delta after {@code toSeq} to {@code target},
     * newest first, so the target ends in the state it had at {@code toSeq}. Reads only; run it
     * while the applier is paused. Idempotent: after a crash it can simply run again.
     *
     * @throws IllegalArgumentException if {@code toSeq} is before {@link #baseSeq()}
     * @throws IOException on a read error or a damaged record
     */
    public void rollback(long toSeq, Target target) throws IOException {
        if (toSeq < baseSeq) {
            throw new IllegalArgumentException("group " + group + ": seq " + toSeq + " is before the undo log's"
                    + " oldest recoverable seq " + baseSeq);
        }
        byte[] body = new byte[checked.capacity() + stored.capacity()];
        ByteBuffer raw = ByteBuffer.allocateDirect(options.maxRecordDataBytes());
        // Until a FINAL record: parts of a pre-image being built, or left by a crash.
        boolean skipping = true;
        int expectPart = -1;
        try (LogReader reader = log.newestFirst()) {
            while (reader.next()) {
                LogInput in = reader.body();
                int flags = in.readInt();
                int recordPart = in.readInt();
                String where = "seqs " + reader.firstSeq() + ".." + reader.lastSeq() + " part " + recordPart;
                if ((flags & FLAG_FINAL) != 0) {
                    if (expectPart >= 0) {
                        throw damaged(where, "part " + expectPart + " of the pre-image after it is missing");
                    }
                    if (reader.lastSeq() <= toSeq) {
                        return;
                    }
                    skipping = false;
                } else if (skipping) {
                    continue;
                } else if (expectPart < 0) {
                    skipping = true; // parts of a pre-image a crash cut short
                    continue;
                } else if (recordPart != expectPart) {
                    throw damaged(where, "expected part " + expectPart);
                }
                int bodyCrc = in.readInt();
                long length = in.remaining();
                if (length < CHECKED_FIXED_BYTES || length > body.length) {
                    throw damaged(where, "bad length " + length);
                }
                in.readFully(body, 0, (int) length);
                crc.reset();
                crc.update(body, 0, (int) length);
                if ((int) crc.getValue() != bodyCrc) {
                    throw damaged(where, "checksum mismatch");
                }
                restore(ByteBuffer.wrap(body, 0, (int) length).slice().order(ByteOrder.LITTLE_ENDIAN), raw, target,
                        where);
                expectPart = recordPart - 1;
            }
        } catch (LogException e) {
            throw new IOException("group " + group + ": the undo log is damaged (" + e.getMessage() + "); points"
                    + " before seq " + lastSeq + " cannot be rolled back to", e);
        }
        if (expectPart >= 0) {
            throw damaged("the oldest record", "part " + expectPart + " of its pre-image is missing");
        }
    }

    private void restore(ByteBuffer body, ByteBuffer raw, Target target, String where) throws IOException {
        int count = body.getInt(0);
        int rawLength = body.getInt(4);
        int storedLength = body.getInt(8);
        int extentsEnd = CHECKED_FIXED_BYTES + count * EXTENT_BYTES;
        if (count < 0 || rawLength < 0 || rawLength > raw.capacity() || extentsEnd > body.limit()) {
            throw damaged(where, "bad body");
        }
        ByteBuffer bytes;
        if (storedLength < 0) {
            bytes = body.duplicate().position(extentsEnd).limit(extentsEnd + rawLength).slice();
        } else {
            raw.clear();
            decompressor.decompress(body, extentsEnd, raw, 0, rawLength);
            bytes = raw.duplicate().position(0).limit(rawLength).slice();
        }
        int dataPos = 0;
        for (int i = 0; i < count; i++) {
            int at = CHECKED_FIXED_BYTES + i * EXTENT_BYTES;
            int volume = Short.toUnsignedInt(body.getShort(at));
            byte type = body.get(at + 2);
            long offset = body.getLong(at + 4);
            long length = body.getLong(at + 12);
            if (type == WRITE) {
                if (length > rawLength - dataPos) {
                    throw damaged(where, "extent beyond its data");
                }
                target.write(volume, offset, bytes.duplicate().position(dataPos).limit(dataPos + (int) length));
                dataPos += (int) length;
            } else {
                target.zero(volume, offset, length);
            }
        }
    }

    private IOException damaged(String where, String what) {
        return new IOException("group " + group + ": the undo log in " + log.directory() + " is damaged at " + where
                + " (" + what + "); points before seq " + lastSeq + " cannot be rolled back to");
    }

    @Override
    public void close() throws IOException {
        try {
            log.close();
        } catch (LogException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "UndoLog[%s, seqs %d..%d, %d bytes]", group, baseSeq, lastSeq,
                log.bytesOnDisk());
    }
}
