package io.ferry.capture.sync;

import io.ferry.api.SyncStatus;
import io.ferry.capture.journal.Journal;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.volume.BlockHasher;
import io.ferry.volume.VolumeFile;
import io.ferry.volume.Zeroes;
import io.ferry.wire.BlockDiff;
import io.ferry.wire.BlockHashes;
import io.ferry.wire.ControlMessage;
import io.ferry.wire.SyncMark;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sync of a group's volumes to its replica, driven by the agent: the volumes are read
 * region by region, each region on the group's pipeline thread between two writes
 * ({@link WritePipeline.InOrder}), so it sees the volume exactly as the writes up to the
 * captured seq left it.
 *
 * <p>Two ways, as the receiver asked:
 * <ul>
 *   <li><b>Data</b> (the replica is empty): what a region holds is journaled as ordinary
 *       records at the next seqs, so it travels and is applied like the group's writes. Holes
 *       ({@code SEEK_HOLE}) and 4 KiB blocks of zeroes are not sent: they are holes at the replica
 *       already.</li>
 *   <li><b>Checksum</b> (the replica may hold data): the region's blocks are hashed
 *       ({@link BlockHasher}) and the hashes go out as a {@link BlockHashes} mark at the region's
 *       seq. The receiver hashes its replica once it has applied exactly that seq and answers
 *       with a {@link BlockDiff}; the differing ranges are then read again in order and
 *       journaled, zero runs as WRITE_ZEROES (the replica punches holes). Only those ranges
 *       travel.</li>
 * </ul>
 *
 * <p><b>Why a sync read never overwrites a newer write at the replica.</b> A write that comes
 * after a region's read carries a higher seq and is applied after the region's records, in the
 * receiver's seq order; one that came before is in the region already. So once the replica has
 * applied the END mark's seq it holds the volumes as of that seq, while writes went on
 * throughout.
 *
 * <p>Bounds: one in-order read at a time, at most {@link #WINDOW_BYTES} of volume read but not
 * yet acknowledged (data) or answered (checksum), so the journal holds a bounded part of the
 * sync; {@code maxRateBytes} bounds the bytes read per second (0: no bound); the group's writes
 * are never held back by it.
 *
 * <p>Threads: the shipper thread owns it; the reads run on the pipeline thread and hand their
 * results back through a queue; the status getters read volatiles.
 */
public final class GroupSync {
    private static final Logger LOG = LoggerFactory.getLogger(GroupSync.class);

    /** Bytes of volume one in-order read covers. */
    public static final int REGION_BYTES = 1 << 20;
    /** Bytes of volume read but not yet acknowledged or answered, at most. */
    public static final long WINDOW_BYTES = 128L << 20;
    /** Bytes one hash covers in a checksum sync. */
    public static final int HASH_BLOCK_BYTES = 64 << 10;
    private static final int BLOCK = 4096;

    /**
     * A read done: its records end at {@code lastSeq}; a region read covered up to
     * {@code coveredEnd} bytes of the sync (-1 for a repair); {@code hashes} in a checksum sync.
     */
    private record Done(long lastSeq, long covered, long dataBytes, BlockHashes hashes, Read read, long epoch) {
        boolean region() {
            return read.kind != Read.REPAIR;
        }
    }

    /** A range the receiver found different, to read again. */
    private record Repair(int volume, long offset, int length) {
    }

    /** A range a verify found different: volume name, offset, length. */
    public record Mismatch(String volume, long offset, long length) {
    }

    /** Mismatches a verify lists at the most; past it they are counted only. */
    public static final int MAX_LISTED_MISMATCHES = 10_000;

    private final String group;
    private final int kind;
    private final boolean checksum;
    private final WritePipeline pipeline;
    private final List<VolumeFile> files;
    private final long totalBytes;
    private final long maxRateBytes;
    private final long beginSeq;
    private final long startNanos;
    private final ByteBuffer buffer;
    private final BlockHasher hasher = new BlockHasher();
    private final ConcurrentLinkedQueue<Done> read = new ConcurrentLinkedQueue<>();
    /** Data: regions read, waiting for the ACK of their records. */
    private final ArrayDeque<Done> unacked = new ArrayDeque<>();
    /** Checksum: regions whose hashes went out, waiting for the receiver's DIFF, in order. */
    private final ArrayDeque<Done> unanswered = new ArrayDeque<>();
    private final ArrayDeque<Repair> repairs = new ArrayDeque<>();
    private final boolean repair;
    private final List<String> volumeNames;
    private final List<Mismatch> mismatches = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile long mismatchedBytes;
    private volatile long repairedBytes;

    /** The dirty map whose marked blocks a resync reads (null: whole volumes). */
    private final io.ferry.capture.bitmap.DirtyMap dirty;
    /** Epoch of the dirty map when the sync began: a whole-volume sync clears the map at its end with it. */
    private final long startEpoch;
    private final long windowBytes;
    private int volume;
    private long offset;
    /** Volume bytes whose reads were submitted, and of those acknowledged or answered (the window). */
    private long windowSubmitted;
    private long windowDone;
    private volatile boolean outstanding;
    private volatile String refused;
    private long nextAllowedNanos;
    private long readCovered;
    private long lastSeq;
    private volatile long doneCovered;
    private volatile long sentBytes;
    private volatile long hashBytes;
    private int loggedTenth;

    /**
     * A sync of {@code files} (by volume index) that begins after the captured seq now (every
     * read gets a later seq): by checksum when {@code checksum}, else by data.
     */
    public GroupSync(String group, int kind, boolean checksum, WritePipeline pipeline, List<VolumeFile> files,
            long maxRateBytes, long nowNanos) {
        this(group, kind, checksum, true, List.of(), pipeline, files, null, maxRateBytes, WINDOW_BYTES, nowNanos);
    }

    /**
     * A whole-volume sync as above, with at most {@code windowBytes} of volume read and not yet
     * acknowledged (so a bounded journal holds it) and the group's dirty map, cleared when it ends.
     */
    public static GroupSync whole(String group, int kind, boolean checksum, WritePipeline pipeline,
            List<VolumeFile> files, io.ferry.capture.bitmap.DirtyMap dirty, long maxRateBytes, long windowBytes,
            long nowNanos) {
        return new GroupSync(group, kind, checksum, true, List.of(), pipeline, files, dirty, maxRateBytes,
                windowBytes, nowNanos, false);
    }

    /**
     * A resync of the blocks {@code dirty} marks: each 1 MiB region holding marks is read in
     * order with the writes. By data (after bitmap mode: the marked blocks were written), its
     * marked runs are journaled (zero runs as WRITE_ZEROES: the replica may hold data there) and
     * its marks cleared once the receiver holds them durable. By {@code checksum} (after a host
     * crash: the activity log's extents are mostly the same on both sides), the region is hashed
     * and only what the receiver finds different travels; the marks are cleared when the receiver
     * acknowledged the END.
     */
    public static GroupSync resync(String group, boolean checksum, WritePipeline pipeline, List<VolumeFile> files,
            io.ferry.capture.bitmap.DirtyMap dirty, long maxRateBytes, long windowBytes, long nowNanos) {
        return new GroupSync(group, SyncMark.RESYNC, checksum, true, List.of(), pipeline, files, dirty, maxRateBytes,
                windowBytes, nowNanos, true);
    }

    /** A resync by data, as above. */
    public static GroupSync resync(String group, WritePipeline pipeline, List<VolumeFile> files,
            io.ferry.capture.bitmap.DirtyMap dirty, long maxRateBytes, long windowBytes, long nowNanos) {
        return resync(group, false, pipeline, files, dirty, maxRateBytes, windowBytes, nowNanos);
    }

    private GroupSync(String group, int kind, boolean checksum, boolean repair, List<String> volumeNames,
            WritePipeline pipeline, List<VolumeFile> files, io.ferry.capture.bitmap.DirtyMap dirty, long maxRateBytes,
            long windowBytes, long nowNanos) {
        this(group, kind, checksum, repair, volumeNames, pipeline, files, dirty, maxRateBytes, windowBytes, nowNanos,
                false);
    }

    /**
     * A verify of {@code files} (named {@code volumeNames}): by checksum, listing what differs,
     * and reading it again only when {@code repair}.
     */
    public static GroupSync verify(String group, boolean repair, List<String> volumeNames, WritePipeline pipeline,
            List<VolumeFile> files, long maxRateBytes, long nowNanos) {
        return new GroupSync(group, SyncMark.VERIFY, true, repair, volumeNames, pipeline, files, null, maxRateBytes,
                WINDOW_BYTES, nowNanos);
    }

    private GroupSync(String group, int kind, boolean checksum, boolean repair, List<String> volumeNames,
            WritePipeline pipeline, List<VolumeFile> files, io.ferry.capture.bitmap.DirtyMap dirtyMap,
            long maxRateBytes, long windowBytes, long nowNanos, boolean dirtyOnly) {
        this.dirty = dirtyOnly ? dirtyMap : null;
        this.startEpoch = dirtyMap == null ? -1 : dirtyMap.epoch();
        this.wholeMap = dirtyOnly ? null : dirtyMap;
        this.windowBytes = Math.max(REGION_BYTES, windowBytes);
        this.repair = repair;
        this.volumeNames = List.copyOf(volumeNames);
        this.group = group;
        this.kind = kind;
        this.checksum = checksum;
        this.pipeline = pipeline;
        this.files = List.copyOf(files);
        long total = 0;
        if (dirty != null) {
            total = dirty.dirtyBytes();
        } else {
            for (VolumeFile file : files) {
                total += file.sizeBytes();
            }
        }
        this.totalBytes = total;
        this.maxRateBytes = maxRateBytes;
        this.beginSeq = pipeline.capturedSeq();
        this.lastSeq = beginSeq;
        this.startNanos = nowNanos;
        this.nextAllowedNanos = nowNanos;
        this.buffer = ByteBuffer.allocateDirect(REGION_BYTES);
        skipEmptyVolumes();
        LOG.info("group {}: {} of {} bytes begins after seq {} ({}{})", group, label(), total,
                beginSeq, dirty != null ? "the dirty regions, as the volumes hold them now"
                        : checksum ? "by checksum: only differing blocks travel" : "the regions holding data",
                maxRateBytes > 0 ? ", at most " + (maxRateBytes >> 20) + " MiB/s" : "");
    }

    private void skipEmptyVolumes() {
        while (volume < files.size() && offset >= files.get(volume).sizeBytes()) {
            volume++;
            offset = 0;
        }
    }

    /** The mark that opens the sync on the wire. */
    public SyncMark beginMark() {
        return beginMark(beginSeq);
    }

    /**
     * The mark that opens the sync after {@code seq} (for a resync: the last seq on the wire
     * before it, which the receiver keeps as its last consistent point).
     */
    public SyncMark beginMark(long seq) {
        return new SyncMark(group, seq, SyncMark.BEGIN, kind, totalBytes, 0);
    }

    /** The whole-volume sync's dirty map, cleared at its end (null for none or for a resync). */
    private final io.ferry.capture.bitmap.DirtyMap wholeMap;

    /**
     * The receiver acknowledged the END mark: a whole-volume sync leaves no region dirty (unless
     * a fold came meanwhile; then the map keeps its marks). Shipper thread.
     */
    public void onEndAcked() {
        io.ferry.capture.bitmap.DirtyMap map = wholeMap != null ? wholeMap : checksum ? dirty : null;
        if (map != null && map.clearAll(startEpoch)) {
            LOG.info("group {}: the {} covered every dirty region; the dirty map is clear", group, label());
        }
    }

    /** Whether regions are compared by hashes (else their data is sent). */
    public boolean checksum() {
        return checksum;
    }

    /** HASHES taken by the shipper whose DIFF has not come yet. Shipper thread. */
    public int unansweredHashes() {
        return unanswered.size();
    }

    /** The dirty map a resync reads, or null. */
    public io.ferry.capture.bitmap.DirtyMap dirtyMap() {
        return dirty;
    }

    /**
     * Shipper thread: takes the reads done since the last call (data regions whose records the
     * receiver holds up to {@code ackedSeq} count as done at once: a region of holes journals
     * nothing, and no ACK would come for it), then starts the next read when the window and the
     * rate allow. Returns the marks to send in order after the deltas: the HASHES of regions
     * read, and a PROGRESS mark whenever the sync advanced a hundredth.
     */
    public List<ControlMessage> pump(long nowNanos, long ackedSeq) {
        List<ControlMessage> marks = takeDone(nowNanos, ackedSeq);
        if (refused == null && !outstanding && nowNanos >= nextAllowedNanos) {
            if (!repairs.isEmpty()) {
                submitRepair();
            } else if (volume < files.size() && windowSubmitted - windowDone < windowBytes) {
                if (dirty != null) {
                    submitDirtyRegion();
                } else {
                    submitRegion();
                }
            }
        }
        return marks;
    }

    /**
     * Whether a read finished that {@link #pump} has not taken yet. The shipper asks before it
     * ships a journal record: a read's result is queued before any later write is journaled (both
     * on the pipeline thread), so taking it first puts its HASHES ahead of every later delta.
     */
    public boolean hasDone() {
        return !read.isEmpty();
    }

    /** Shipper thread: takes the reads done so far (see {@link #pump}) and returns their marks. */
    public List<ControlMessage> takeDone(long nowNanos, long ackedSeq) {
        List<ControlMessage> marks = new ArrayList<>();
        long before = readCovered;
        Done done;
        while ((done = read.poll()) != null) {
            lastSeq = Math.max(lastSeq, done.lastSeq());
            sentBytes += done.dataBytes();
            if (done.region()) {
                readCovered += done.covered();
                if (done.hashes() != null) {
                    unanswered.addLast(done);
                    marks.add(done.hashes());
                    hashBytes += done.hashes().hashes().length;
                } else {
                    unacked.addLast(done);
                }
            }
            if (maxRateBytes > 0) {
                long bytes = done.hashes() != null ? REGION_BYTES : done.dataBytes();
                nextAllowedNanos = Math.max(nextAllowedNanos, nowNanos) + bytes * 1_000_000_000L / maxRateBytes;
            }
        }
        onAcked(ackedSeq);
        long step = Math.max(totalBytes / 100, 1);
        if (kind != SyncMark.VERIFY && readCovered > before && readCovered < totalBytes
                && readCovered / step > before / step) {
            marks.add(new SyncMark(group, lastSeq, SyncMark.PROGRESS, kind, totalBytes, readCovered));
        }
        return marks;
    }

    private void submitRegion() {
        VolumeFile file = files.get(volume);
        int v = volume;
        long at = offset;
        int length = (int) Math.min(REGION_BYTES, file.sizeBytes() - at);
        if (!submit(new Read(Read.REGION, v, at, length))) {
            return;
        }
        windowSubmitted += length;
        offset += length;
        skipEmptyVolumes();
    }

    /** A resync: the next region holding marks, or the end. */
    private void submitDirtyRegion() {
        while (volume < files.size()) {
            long next = dirty.nextMarked(volume, offset);
            if (next < 0) {
                volume++;
                offset = 0;
                continue;
            }
            long at = next / REGION_BYTES * REGION_BYTES;
            int length = (int) Math.min(REGION_BYTES, files.get(volume).sizeBytes() - at);
            if (submit(new Read(Read.DIRTY, volume, at, length))) {
                windowSubmitted += length;
                offset = at + length;
            }
            return;
        }
    }

    private void submitRepair() {
        Repair next = repairs.peekFirst();
        if (submit(new Read(Read.REPAIR, next.volume(), next.offset(), next.length()))) {
            repairs.pollFirst();
            repairedBytes += next.length();
        }
    }

    private boolean submit(Read work) {
        outstanding = true;
        if (!pipeline.tryRunInOrder(work)) {
            outstanding = false; // ring full or closing: try again on the next pump
            return false;
        }
        return true;
    }

    /** One in-order read: a region of the sync ({@code coveredEnd >= 0}) or a repair. */
    private final class Read implements WritePipeline.InOrder {
        /** A region of a whole-volume sync, a range read again, a region of a resync. */
        static final int REGION = 0;
        static final int REPAIR = 1;
        static final int DIRTY = 2;

        private final int kind;
        private final int v;
        private final long at;
        private final int length;

        Read(int kind, int v, long at, int length) {
            this.kind = kind;
            this.v = v;
            this.at = at;
            this.length = length;
        }

        @Override
        public void run(WritePipeline.Sequenced sequenced) throws IOException {
            if (kind == REGION && checksum) {
                BlockHashes hashes = hashRegion(sequenced, v, at, length);
                read.add(new Done(sequenced.capturedSeq(), length, 0, hashes, this, -1));
            } else if (kind == DIRTY && checksum) {
                long marked = dirty.markedBytes(v, at, at + length);
                BlockHashes hashes = hashRegion(sequenced, v, at, length);
                read.add(new Done(sequenced.capturedSeq(), marked, 0, hashes, this, dirty.epoch()));
            } else if (kind == DIRTY) {
                long epoch = dirty.epoch();
                long marked = dirty.markedBytes(v, at, at + length);
                long[] data = {0};
                VolumeFile file = sequenced.file(v);
                dirty.forEachRun(v, at, at + length, (runAt, runLength) ->
                        data[0] += dataRun(sequenced, file, v, runAt, (int) runLength, true));
                read.add(new Done(sequenced.capturedSeq(), marked, data[0], null, this, epoch));
            } else {
                long data = readRegion(sequenced, v, at, length, kind == REPAIR);
                read.add(new Done(sequenced.capturedSeq(), kind == REPAIR ? 0 : length, data, null, this, -1));
            }
            outstanding = false;
        }

        @Override
        public void refused(String why) {
            refused = why;
            outstanding = false;
        }

        @Override
        public String toString() {
            return "sync read of " + group + " volume " + v + " at " + at + "+" + length;
        }
    }

    /** Pipeline thread: the hashes of {@code [at, at + length)} of volume {@code v} as it is now. */
    private BlockHashes hashRegion(WritePipeline.Sequenced sequenced, int v, long at, int length) throws IOException {
        ByteBuffer chunk = buffer.clear().limit(length);
        sequenced.file(v).read(at, chunk);
        int count = (length + HASH_BLOCK_BYTES - 1) / HASH_BLOCK_BYTES;
        byte[] hashes = new byte[count * BlockHasher.HASH_BYTES];
        for (int i = 0; i < count; i++) {
            int from = i * HASH_BLOCK_BYTES;
            hasher.hash(buffer, from, Math.min(HASH_BLOCK_BYTES, length - from), hashes, i * BlockHasher.HASH_BYTES);
        }
        return new BlockHashes(group, sequenced.capturedSeq(), v, at, HASH_BLOCK_BYTES, hashes);
    }

    /**
     * Pipeline thread: reads {@code [at, at + length)} of volume {@code v} and journals its data
     * runs, and its zero runs when {@code zeroes}; returns the data bytes journaled.
     */
    private long readRegion(WritePipeline.Sequenced sequenced, int v, long at, int length, boolean zeroes)
            throws IOException {
        VolumeFile file = sequenced.file(v);
        long[] runs = new long[128]; // pairs of (length, hole ? 1 : 0)
        int[] count = {0};
        long end = at + length;
        long position = at;
        long data = 0;
        while (position < end) {
            count[0] = 0;
            file.allocation(position, end - position, runs.length / 2, (runLength, hole) -> {
                runs[2 * count[0]] = runLength;
                runs[2 * count[0] + 1] = hole ? 1 : 0;
                count[0]++;
            });
            if (count[0] == 0) {
                break;
            }
            for (int r = 0; r < count[0]; r++) {
                long runLength = runs[2 * r];
                if (runs[2 * r + 1] == 1) {
                    zeroRun(sequenced, v, position, runLength, zeroes);
                } else {
                    data += dataRun(sequenced, file, v, position, (int) runLength, zeroes);
                }
                position += runLength;
            }
        }
        return data;
    }

    private static void zeroRun(WritePipeline.Sequenced sequenced, int v, long at, long length, boolean zeroes) {
        if (zeroes && length > 0) {
            sequenced.journal(v, Journal.WRITE_ZEROES, at, length, null);
        }
    }

    /** Reads a data run and journals its 4 KiB blocks, runs of zero blocks as zero runs. */
    private long dataRun(WritePipeline.Sequenced sequenced, VolumeFile file, int v, long at, int length,
            boolean zeroes) throws IOException {
        ByteBuffer chunk = buffer.clear().limit(length);
        file.read(at, chunk);
        long data = 0;
        int runStart = 0;
        boolean runZero = false;
        for (int block = 0; block < length; block += BLOCK) {
            boolean zero = Zeroes.allZero(buffer, block, Math.min(length, block + BLOCK));
            if (block == 0) {
                runZero = zero;
            } else if (zero != runZero) {
                data += emit(sequenced, v, at, runStart, block, runZero, zeroes);
                runStart = block;
                runZero = zero;
            }
        }
        data += emit(sequenced, v, at, runStart, length, runZero, zeroes);
        return data;
    }

    private long emit(WritePipeline.Sequenced sequenced, int v, long at, int from, int to, boolean zero,
            boolean zeroes) {
        if (zero) {
            zeroRun(sequenced, v, at + from, to - from, zeroes);
            return 0;
        }
        sequenced.journal(v, Journal.WRITE, at + from, to - from, buffer.duplicate().limit(to).position(from));
        return to - from;
    }

    /** Shipper thread: the receiver holds everything up to {@code durableSeq} durable. */
    public void onAcked(long durableSeq) {
        Done done;
        while ((done = unacked.peekFirst()) != null && done.lastSeq() <= durableSeq) {
            unacked.pollFirst();
            doneCovered += done.covered();
            windowDone += done.read().length;
            if (done.read().kind == Read.DIRTY) {
                dirty.clear(done.epoch(), done.read().v, done.read().at, done.read().length);
            }
        }
        logProgress();
    }

    /**
     * Shipper thread: the receiver's answer to the oldest HASHES still unanswered; its ranges are
     * read again.
     *
     * @throws IllegalArgumentException when it answers no region this sync asked about (the
     *         caller fails the sync: the receiver is not following it)
     */
    public void onDiff(BlockDiff diff) {
        Done asked = unanswered.peekFirst();
        BlockHashes hashes = asked == null ? null : asked.hashes();
        if (hashes == null || hashes.seq() != diff.seq() || hashes.volume() != diff.volume()
                || hashes.offset() != diff.offset() || diff.end() > hashes.end()) {
            throw new IllegalArgumentException("DIFF of volume " + diff.volume() + " at " + diff.offset() + " (seq "
                    + diff.seq() + ") answers no HASHES this sync is waiting for"
                    + (hashes == null ? "" : " (waiting for volume " + hashes.volume() + " at " + hashes.offset()
                    + ", seq " + hashes.seq() + ")"));
        }
        unanswered.pollFirst();
        for (BlockDiff.Range range : diff.ranges()) {
            if (kind == SyncMark.VERIFY) {
                mismatchedBytes += range.length();
                String name = diff.volume() < volumeNames.size() ? volumeNames.get(diff.volume())
                        : String.valueOf(diff.volume());
                if (mismatches.size() < MAX_LISTED_MISMATCHES) {
                    mismatches.add(new Mismatch(name, range.offset(), range.length()));
                }
                LOG.warn("group {}: verify found volume {} different at {}+{} at seq {}{}", group, name, range.offset(),
                        range.length(), diff.seq(), repair ? "; repairing it" : "");
            }
            if (!repair) {
                continue;
            }
            for (long at = range.offset(); at < range.offset() + range.length(); at += REGION_BYTES) {
                int length = (int) Math.min(REGION_BYTES, range.offset() + range.length() - at);
                repairs.addLast(new Repair(diff.volume(), at, length));
            }
        }
        doneCovered += asked.covered();
        windowDone += asked.read().length;
        logProgress();
    }

    private void logProgress() {
        int tenth = totalBytes == 0 ? 10 : (int) (doneCovered * 10 / totalBytes);
        if (tenth > loggedTenth && tenth < 10) {
            loggedTenth = tenth;
            LOG.info("group {}: {} {}% ({} of {} bytes, {} bytes of data sent)", group, label(),
                    tenth * 10, doneCovered, totalBytes, sentBytes);
        }
    }

    /** "initial sync", "resync" or "verify", for log lines. */
    private String label() {
        return kind == SyncMark.INITIAL ? "initial sync" : SyncMark.kindName(kind);
    }

    /** Every region was read and answered and every differing range read again: END can follow. */
    public boolean allRead() {
        return volume >= files.size() && !outstanding && read.isEmpty() && unanswered.isEmpty() && repairs.isEmpty();
    }

    /** The mark that ends the sync: the replica holds the volumes once it applied its seq. */
    public SyncMark endMark() {
        if (!allRead()) {
            throw new IllegalStateException("group " + group + ": the sync has regions left to read");
        }
        return new SyncMark(group, lastSeq, SyncMark.END, kind, totalBytes, totalBytes);
    }

    /** The seq of the last record a read journaled (a repair's included), or the seq the sync began after. */
    public long lastSeq() {
        return lastSeq;
    }

    /** What a verify found different so far (at most {@link #MAX_LISTED_MISMATCHES}). */
    public List<Mismatch> mismatches() {
        return List.copyOf(mismatches);
    }

    /** Bytes a verify found different. */
    public long mismatchedBytes() {
        return mismatchedBytes;
    }

    /** Bytes read again because they differed. */
    public long repairedBytes() {
        return repairedBytes;
    }

    public int kind() {
        return kind;
    }

    /** Whether ranges found different are read again (always for a sync; for a verify when asked). */
    public boolean repair() {
        return repair;
    }

    public long beginSeq() {
        return beginSeq;
    }

    /** Why the pipeline refused a read (the group failed or closed), or null. */
    public String refused() {
        return refused;
    }

    public long totalBytes() {
        return totalBytes;
    }

    /** Volume bytes the receiver holds (data) or has compared (checksum). */
    public long doneBytes() {
        return doneCovered;
    }

    /** Data bytes read and journaled (holes and zero blocks are not data). */
    public long sentBytes() {
        return sentBytes;
    }

    /** Bytes of block hashes sent (checksum). */
    public long hashBytes() {
        return hashBytes;
    }

    /** The status as both daemons show it. */
    public SyncStatus status(long nowNanos) {
        return SyncStatus.of(SyncMark.kindName(kind), totalBytes, doneCovered, sentBytes, startNanos, nowNanos);
    }

    /** Logs the end once the receiver acknowledged the END mark. */
    public void logComplete(long nowNanos) {
        doneCovered = totalBytes;
        double seconds = Math.max(1e-9, (nowNanos - startNanos) / 1e9);
        LOG.info("group {}: {} sync complete: {} bytes covered, {} bytes of data and {} bytes of hashes sent in {} s"
                        + " ({} MB/s of volume)", group, SyncMark.kindName(kind), totalBytes, sentBytes, hashBytes,
                String.format("%.1f", seconds), String.format("%.1f", totalBytes / seconds / 1e6));
    }
}
