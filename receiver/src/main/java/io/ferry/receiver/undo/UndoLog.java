package io.ferry.receiver.undo;

import io.ferry.delta.Delta;
import io.ferry.journal.SegmentFiles;
import io.ferry.volume.VolumeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
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
 * Segment files {@code seg-<first seq, 20 digits>.undo} in the log directory, each holding
 * records of consecutive deltas. A delta's pre-image is one or more records with the delta's
 * seq range; its last record carries {@link #FLAG_FINAL}. A record is
 * <pre>
 *   header:  magic:4 flags:4 firstSeq:8 lastSeq:8 bodyLength:4 crc32c(body):4
 *   body:    extentCount:4 rawLength:4 storedLength:4 (-1: stored raw)
 *            extentCount x (volume:2 type:1 pad:1 offset:8 length:8)  data:storedLength (LZ4 or raw)
 *   trailer: recordLength:4 magic:4
 * </pre>
 * (big endian); the trailer lets {@link #rollback} walk a segment backwards. A WRITE extent's
 * old bytes are in the data; a ZERO extent was a hole or zeroes and carries no data.
 *
 * <h2>Durability and crash recovery</h2>
 * The applier appends a delta's pre-image and {@link #sync}s it before it writes any of the
 * delta to the replicas, so every replica byte that changed has its old value on disk. On open
 * the last segment is scanned and cut after its last valid FINAL record (a torn pre-image
 * belongs to a delta none of whose writes happened); sealed segments were synced when the next
 * one started. A pre-image recorded before a crash but whose delta was not counted as applied
 * is kept: the replay must not record it again ({@link #lastSeq()} tells which deltas are
 * covered), because the replica may already hold part of that delta.
 *
 * <h2>Threads</h2>
 * Owned by the group's applier thread (append, sync, release); {@link #rollback} runs while the
 * applier is paused. {@link #bytesOnDisk()}, {@link #baseSeq()} and {@link #lastSeq()} may be
 * read from any thread.
 */
public final class UndoLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UndoLog.class);

    static final int MAGIC = 0x46554e44; // "FUND"
    static final int FLAG_FINAL = 1;
    static final int HEADER_BYTES = 4 + 4 + 8 + 8 + 4 + 4;
    static final int TRAILER_BYTES = 8;
    static final int BODY_FIXED_BYTES = 12;
    static final int EXTENT_BYTES = 20;
    static final byte WRITE = 1;
    static final byte ZERO = 2;
    private static final String SUFFIX = ".undo";
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

    private record Segment(long firstSeq, Path path) {
    }

    private final Path dir;
    private final String group;
    private final Options options;
    private final LZ4Compressor compressor = LZ4.fastCompressor();
    private final LZ4FastDecompressor decompressor = LZ4.fastDecompressor();
    private final CRC32C crc = new CRC32C();

    /** Oldest first; changed by the applier thread only, published copy-on-write. */
    private volatile List<Segment> segments;
    private volatile long baseSeq;
    private volatile long lastSeq;
    private volatile long bytesOnDisk;

    // Owned by the applier thread: the segment being written.
    private FileChannel current;
    private long currentBytes;
    private boolean currentNameDurable;
    private boolean unsynced;
    /** A part of the pre-image being built is written: no roll before its FINAL record. */
    private boolean partWritten;

    // The pre-image being built.
    private long buildFirstSeq;
    private long buildLastSeq;
    private boolean building;
    private final ByteBuffer extents;
    private final ByteBuffer data;
    private ByteBuffer stored;
    private int extentCount;

    private UndoLog(Path dir, String group, Options options) {
        this.dir = dir;
        this.group = group;
        this.options = options;
        int maxExtents = Math.max(1024, options.maxRecordDataBytes() / 4096 * 2);
        this.extents = ByteBuffer.allocate(maxExtents * EXTENT_BYTES);
        this.data = ByteBuffer.allocateDirect(options.maxRecordDataBytes());
        this.stored = ByteBuffer.allocateDirect(compressor.maxCompressedLength(options.maxRecordDataBytes()));
    }

    /**
     * Opens (creating) the undo log of {@code group} in {@code dir} for replicas applied up to
     * {@code appliedSeq}: recovers the last segment after a crash. When the log does not reach
     * {@code appliedSeq} (it was deleted, or the group predates it) it starts over at
     * {@code appliedSeq}, and earlier points cannot be rolled back to.
     */
    public static UndoLog open(Path dir, String group, long appliedSeq, Options options) throws IOException {
        Objects.requireNonNull(options, "options");
        Files.createDirectories(dir);
        UndoLog log = new UndoLog(dir, group, options);
        log.recover(appliedSeq);
        return log;
    }

    private void recover(long appliedSeq) throws IOException {
        List<Segment> found = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "seg-*" + SUFFIX)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                long first = SegmentFiles.parseFirstSeq(name.substring(0, name.length() - SUFFIX.length()));
                if (first > 0) {
                    found.add(new Segment(first, f));
                }
            }
        }
        found.sort(Comparator.comparingLong(Segment::firstSeq));
        long last = 0;
        while (!found.isEmpty()) {
            Segment tail = found.get(found.size() - 1);
            long end = scanValidEnd(tail);
            if (end > 0) {
                try (FileChannel c = FileChannel.open(tail.path(), StandardOpenOption.WRITE)) {
                    if (c.size() != end) {
                        LOG.warn("group {}: undo segment {} ends in a torn pre-image; cut from {} to {} bytes", group,
                                tail.path(), c.size(), end);
                        c.truncate(end);
                        c.force(true);
                    }
                }
                last = lastSeqOf(tail, end);
                break;
            }
            Files.delete(tail.path());
            found.remove(found.size() - 1);
        }
        if (found.isEmpty() || last < appliedSeq || found.get(0).firstSeq() > appliedSeq + 1) {
            if (!found.isEmpty()) {
                LOG.warn("group {}: the undo log in {} covers seqs {}..{}, not the applied seq {}; it starts over, and"
                        + " points before seq {} can no longer be rolled back to", group, dir,
                        found.get(0).firstSeq(), last, appliedSeq, appliedSeq);
                for (Segment s : found) {
                    Files.delete(s.path());
                }
                found.clear();
            }
            baseSeq = appliedSeq;
            lastSeq = appliedSeq;
        } else {
            baseSeq = found.get(0).firstSeq() - 1;
            lastSeq = last;
        }
        segments = List.copyOf(found);
        long total = 0;
        for (Segment s : found) {
            total += Files.size(s.path());
        }
        bytesOnDisk = total;
        SegmentFiles.forcePath(dir);
    }

    /** Scans a segment's records forward; returns the end of its last valid FINAL record (0: none). */
    private long scanValidEnd(Segment segment) throws IOException {
        try (FileChannel c = FileChannel.open(segment.path(), StandardOpenOption.READ)) {
            long size = c.size();
            long position = 0;
            long validEnd = 0;
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
            ByteBuffer body = ByteBuffer.allocate(0);
            while (position + HEADER_BYTES + TRAILER_BYTES <= size) {
                header.clear();
                readFully(c, header, position);
                header.flip();
                if (header.getInt() != MAGIC) {
                    break;
                }
                int flags = header.getInt();
                header.getLong();
                header.getLong();
                int bodyLength = header.getInt();
                int bodyCrc = header.getInt();
                long recordEnd = position + HEADER_BYTES + (long) bodyLength + TRAILER_BYTES;
                if (bodyLength < BODY_FIXED_BYTES || recordEnd > size) {
                    break;
                }
                if (body.capacity() < bodyLength + TRAILER_BYTES) {
                    body = ByteBuffer.allocate(bodyLength + TRAILER_BYTES);
                }
                body.clear().limit(bodyLength + TRAILER_BYTES);
                readFully(c, body, position + HEADER_BYTES);
                crc.reset();
                crc.update(body.array(), 0, bodyLength);
                body.position(bodyLength);
                if ((int) crc.getValue() != bodyCrc || body.getInt() != HEADER_BYTES + bodyLength + TRAILER_BYTES
                        || body.getInt() != MAGIC) {
                    break;
                }
                position = recordEnd;
                if ((flags & FLAG_FINAL) != 0) {
                    validEnd = position;
                }
            }
            return validEnd;
        }
    }

    /** The last seq of the record ending at {@code end} in {@code segment}. */
    private static long lastSeqOf(Segment segment, long end) throws IOException {
        try (FileChannel c = FileChannel.open(segment.path(), StandardOpenOption.READ)) {
            ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES);
            readFully(c, trailer, end - TRAILER_BYTES);
            int recordLength = trailer.getInt(0);
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
            readFully(c, header, end - recordLength);
            return header.getLong(16);
        }
    }

    public Path directory() {
        return dir;
    }

    /** The oldest seq the replicas can be rolled back to. */
    public long baseSeq() {
        return baseSeq;
    }

    /** The last seq whose delta's pre-image is recorded whole. */
    public long lastSeq() {
        return lastSeq;
    }

    /** Bytes of the segment files. */
    public long bytesOnDisk() {
        return bytesOnDisk;
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
        partWritten = false;
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
        int dataBytes = storedLength < 0 ? rawLength : storedLength;
        int bodyLength = BODY_FIXED_BYTES + extentCount * EXTENT_BYTES + dataBytes;
        ByteBuffer head = ByteBuffer.allocate(HEADER_BYTES + BODY_FIXED_BYTES + extentCount * EXTENT_BYTES);
        head.putInt(MAGIC).putInt(flags).putLong(buildFirstSeq).putLong(buildLastSeq).putInt(bodyLength).putInt(0);
        head.putInt(extentCount).putInt(rawLength).putInt(storedLength);
        head.put(extents.array(), 0, extentCount * EXTENT_BYTES);
        head.flip();
        crc.reset();
        crc.update(head.array(), HEADER_BYTES, head.limit() - HEADER_BYTES);
        crc.update(payload.duplicate());
        head.putInt(HEADER_BYTES - 4, (int) crc.getValue());
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES);
        trailer.putInt(HEADER_BYTES + bodyLength + TRAILER_BYTES).putInt(MAGIC).flip();
        FileChannel channel = channelFor(buildFirstSeq);
        ByteBuffer[] parts = {head, payload, trailer};
        long total = head.remaining() + (long) payload.remaining() + TRAILER_BYTES;
        long written = 0;
        while (written < total) {
            written += channel.write(parts);
        }
        currentBytes += total;
        partWritten = true;
        bytesOnDisk += total;
        unsynced = true;
        extents.clear();
        data.clear();
        extentCount = 0;
    }

    /** The segment to append a record of {@code firstSeq} to: rolls at a delta boundary past the segment size. */
    private FileChannel channelFor(long firstSeq) throws IOException {
        if (current != null && (currentBytes < options.segmentBytes() || partWritten)) {
            return current;
        }
        List<Segment> segs = segments;
        Path path;
        if (current == null && !segs.isEmpty()) {
            path = segs.get(segs.size() - 1).path(); // after open: go on appending to the last segment
        } else {
            if (current != null) {
                current.force(false); // sealed: durable before the next segment's first record
                current.close();
                current = null;
            }
            path = dir.resolve(SegmentFiles.dirName(firstSeq) + SUFFIX);
            List<Segment> next = new ArrayList<>(segs);
            next.add(new Segment(firstSeq, path));
            segments = List.copyOf(next);
        }
        current = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        currentBytes = current.size();
        currentNameDurable = false;
        return current;
    }

    /** Makes every record appended so far durable. Applier thread. */
    public void sync() throws IOException {
        if (current == null || !unsynced) {
            return;
        }
        current.force(false);
        if (!currentNameDurable) {
            SegmentFiles.forcePath(dir);
            currentNameDurable = true;
        }
        unsynced = false;
    }

    /**
     * Deletes whole segments all of whose deltas end at or before {@code seq}: the replicas can
     * then no longer be rolled back before {@link #baseSeq()}, which becomes at most
     * {@code seq}. The segment being written is kept. Applier thread.
     */
    public void release(long seq) throws IOException {
        List<Segment> segs = segments;
        int drop = 0;
        while (drop + 1 < segs.size() && segs.get(drop + 1).firstSeq() - 1 <= seq) {
            drop++;
        }
        if (drop == 0) {
            return;
        }
        long freed = 0;
        for (int i = 0; i < drop; i++) {
            Path p = segs.get(i).path();
            freed += Files.size(p);
            Files.delete(p);
        }
        segments = List.copyOf(segs.subList(drop, segs.size()));
        baseSeq = segments.get(0).firstSeq() - 1;
        bytesOnDisk -= freed;
    }

    /**
     * Gives up every recorded pre-image (after a failure to record one, a full disk say): all
     * segments are deleted and the log goes on after {@code seq}, which becomes the oldest
     * recoverable seq. Applier thread.
     */
    public void startOver(long seq) throws IOException {
        building = false;
        partWritten = false;
        unsynced = false;
        extents.clear();
        data.clear();
        extentCount = 0;
        if (current != null) {
            try {
                current.close();
            } catch (IOException ignored) {
                // the file is deleted next
            }
            current = null;
        }
        for (Segment s : segments) {
            Files.deleteIfExists(s.path());
        }
        segments = List.of();
        bytesOnDisk = 0;
        baseSeq = seq;
        lastSeq = seq;
        SegmentFiles.forcePath(dir);
    }

    /**
     * Deletes the oldest segment, if another follows: how the applier keeps the log within its
     * byte bound. Returns false when only the segment being written is left.
     */
    public boolean releaseOldest() throws IOException {
        List<Segment> segs = segments;
        if (segs.size() < 2) {
            return false;
        }
        release(segs.get(1).firstSeq() - 1);
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
        List<Segment> segs = segments;
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES);
        ByteBuffer body = ByteBuffer.allocateDirect(BODY_FIXED_BYTES + this.extents.capacity()
                + stored.capacity());
        ByteBuffer raw = ByteBuffer.allocateDirect(options.maxRecordDataBytes());
        for (int s = segs.size() - 1; s >= 0; s--) {
            Segment segment = segs.get(s);
            try (FileChannel c = FileChannel.open(segment.path(), StandardOpenOption.READ)) {
                long position = c.size();
                while (position > 0) {
                    trailer.clear();
                    readFully(c, trailer, position - TRAILER_BYTES);
                    int recordLength = trailer.getInt(0);
                    if (trailer.getInt(4) != MAGIC || recordLength < HEADER_BYTES + BODY_FIXED_BYTES + TRAILER_BYTES
                            || recordLength > position) {
                        throw damaged(segment, position, "bad trailer");
                    }
                    long start = position - recordLength;
                    header.clear();
                    readFully(c, header, start);
                    header.flip();
                    long first = header.getLong(8);
                    long last = header.getLong(16);
                    int bodyLength = header.getInt(24);
                    int bodyCrc = header.getInt(28);
                    if (header.getInt(0) != MAGIC || bodyLength != recordLength - HEADER_BYTES - TRAILER_BYTES
                            || bodyLength > body.capacity()) {
                        throw damaged(segment, start, "bad header");
                    }
                    if (last <= toSeq) {
                        return;
                    }
                    if (first <= lastSeq) { // not a part of a pre-image still being built
                        body.clear().limit(bodyLength);
                        readFully(c, body, start + HEADER_BYTES);
                        body.flip();
                        crc.reset();
                        crc.update(body.duplicate());
                        if ((int) crc.getValue() != bodyCrc) {
                            throw damaged(segment, start, "checksum mismatch");
                        }
                        restore(body, raw, target, segment, start);
                    }
                    position = start;
                }
            }
        }
    }

    private void restore(ByteBuffer body, ByteBuffer raw, Target target, Segment segment, long start)
            throws IOException {
        int count = body.getInt(0);
        int rawLength = body.getInt(4);
        int storedLength = body.getInt(8);
        int extentsEnd = BODY_FIXED_BYTES + count * EXTENT_BYTES;
        if (count < 0 || rawLength < 0 || rawLength > raw.capacity() || extentsEnd > body.limit()) {
            throw damaged(segment, start, "bad body");
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
            int at = BODY_FIXED_BYTES + i * EXTENT_BYTES;
            int volume = Short.toUnsignedInt(body.getShort(at));
            byte type = body.get(at + 2);
            long offset = body.getLong(at + 4);
            long length = body.getLong(at + 12);
            if (type == WRITE) {
                if (length > rawLength - dataPos) {
                    throw damaged(segment, start, "extent beyond its data");
                }
                target.write(volume, offset, bytes.duplicate().position(dataPos).limit(dataPos + (int) length));
                dataPos += (int) length;
            } else {
                target.zero(volume, offset, length);
            }
        }
    }

    private IOException damaged(Segment segment, long position, String what) {
        return new IOException("group " + group + ": undo segment " + segment.path() + " is damaged at byte "
                + position + " (" + what + "); points before seq " + lastSeq + " cannot be rolled back to");
    }

    private static void readFully(FileChannel c, ByteBuffer dst, long position) throws IOException {
        long p = position;
        while (dst.hasRemaining()) {
            int n = c.read(dst, p);
            if (n < 0) {
                throw new IOException("unexpected end of " + c + " at " + p);
            }
            p += n;
        }
    }

    @Override
    public void close() throws IOException {
        if (current != null) {
            try {
                current.force(false);
            } finally {
                current.close();
                current = null;
            }
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "UndoLog[%s, seqs %d..%d, %d bytes]", group, baseSeq, lastSeq, bytesOnDisk);
    }
}
