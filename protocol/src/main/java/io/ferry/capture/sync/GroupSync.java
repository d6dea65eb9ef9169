package io.ferry.capture.sync;

import io.ferry.api.SyncStatus;
import io.ferry.capture.journal.Journal;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.volume.VolumeFile;
import io.ferry.volume.Zeroes;
import io.ferry.wire.SyncMark;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sync of a group's volumes to its replica, driven by the agent: the volumes are read
 * region by region and what each region holds is journaled as ordinary records, so it travels
 * and is applied like the group's writes.
 *
 * <p><b>Why a sync read never overwrites a newer write at the replica.</b> Each region is read on
 * the group's pipeline thread between two writes ({@link WritePipeline.InOrder}): it sees the
 * volume exactly as the writes up to the captured seq left it, and its records take the next
 * seqs. A write that comes later carries a higher seq and is applied after the region, in the
 * receiver's seq order; one that came earlier is in the region already. So the replica holds
 * the volume as of the sync's END seq once it applied that far, while writes go on throughout.
 *
 * <p>What travels: data runs as WRITE records; holes ({@code SEEK_HOLE}) and 4 KiB blocks that
 * read as zeroes as WRITE_ZEROES records (the replica punches holes) when the replica may hold
 * other data, as nothing when it is empty ({@code zeroes} false). Regions are read one at a
 * time, at most {@link #WINDOW_BYTES} of volume ahead of what the receiver acknowledged, so the
 * journal holds a bounded part of the sync; {@code maxRateBytes} bounds the data bytes read per
 * second (0: no bound); the group's own writes are never held back by it.
 *
 * <p>Threads: the shipper thread owns it ({@link #pump}, {@link #onAcked}, the getters for status
 * read volatiles); the region reads run on the pipeline thread and hand their result back
 * through a queue.
 */
public final class GroupSync {
    private static final Logger LOG = LoggerFactory.getLogger(GroupSync.class);

    /** Bytes of volume one in-order read covers. */
    public static final int REGION_BYTES = 1 << 20;
    /** Volume bytes read but not yet acknowledged by the receiver, at most. */
    public static final long WINDOW_BYTES = 32L << 20;
    private static final int BLOCK = 4096;

    /** A region read: its records end at {@code lastSeq}; the sync covered {@code coveredEnd} bytes with it. */
    private record Region(long lastSeq, long coveredEnd, long dataBytes) {
    }

    private final String group;
    private final int kind;
    private final boolean zeroes;
    private final WritePipeline pipeline;
    private final List<VolumeFile> files;
    private final long totalBytes;
    private final long maxRateBytes;
    private final long beginSeq;
    private final long startNanos;
    private final ByteBuffer buffer;
    private final ConcurrentLinkedQueue<Region> read = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<Region> unacked = new ArrayDeque<>();

    private int volume;
    private long offset;
    private long submittedCovered;
    private volatile boolean outstanding;
    private volatile String refused;
    private long nextAllowedNanos;
    private long readCovered;
    private long lastSeq;
    private volatile long ackedCovered;
    private volatile long sentBytes;
    private int loggedTenth;

    /**
     * A sync of {@code files} (by volume index) that begins after {@code beginSeq} (the captured
     * seq now: every region read gets a later seq).
     */
    public GroupSync(String group, int kind, boolean zeroes, WritePipeline pipeline, List<VolumeFile> files,
            long maxRateBytes, long nowNanos) {
        this.group = group;
        this.kind = kind;
        this.zeroes = zeroes;
        this.pipeline = pipeline;
        this.files = List.copyOf(files);
        long total = 0;
        for (VolumeFile file : files) {
            total += file.sizeBytes();
        }
        this.totalBytes = total;
        this.maxRateBytes = maxRateBytes;
        this.beginSeq = pipeline.capturedSeq();
        this.lastSeq = beginSeq;
        this.startNanos = nowNanos;
        this.nextAllowedNanos = nowNanos;
        this.buffer = ByteBuffer.allocateDirect(REGION_BYTES);
        while (volume < this.files.size() && this.files.get(volume).sizeBytes() == 0) {
            volume++;
        }
        LOG.info("group {}: {} sync of {} bytes begins after seq {} ({}{})", group, SyncMark.kindName(kind), total,
                beginSeq, zeroes ? "every region" : "regions holding data",
                maxRateBytes > 0 ? ", at most " + (maxRateBytes >> 20) + " MiB/s" : "");
    }

    /** The mark that opens the sync on the wire. */
    public SyncMark beginMark() {
        return new SyncMark(group, beginSeq, SyncMark.BEGIN, kind, totalBytes, 0);
    }

    /**
     * Shipper thread: takes the regions read since the last call (those whose records the
     * receiver holds up to {@code ackedSeq} count as done at once: a region of holes journals
     * nothing, and no ACK would come for it) and starts the next read when the window and the
     * rate allow. Returns a PROGRESS mark to send after the newest region when the sync has
     * advanced a hundredth since the last one, else null.
     */
    public SyncMark pump(long nowNanos, long ackedSeq) {
        Region region;
        long before = readCovered;
        while ((region = read.poll()) != null) {
            unacked.addLast(region);
            readCovered = region.coveredEnd();
            lastSeq = Math.max(lastSeq, region.lastSeq());
            sentBytes += region.dataBytes();
            if (maxRateBytes > 0) {
                nextAllowedNanos = Math.max(nextAllowedNanos, nowNanos) + region.dataBytes() * 1_000_000_000L / maxRateBytes;
            }
        }
        onAcked(ackedSeq);
        if (refused == null && !outstanding && volume < files.size()
                && submittedCovered - ackedCovered < WINDOW_BYTES && nowNanos >= nextAllowedNanos) {
            submitNext();
        }
        long step = Math.max(totalBytes / 100, 1);
        if (readCovered > before && readCovered < totalBytes && readCovered / step > before / step) {
            return new SyncMark(group, lastSeq, SyncMark.PROGRESS, kind, totalBytes, readCovered);
        }
        return null;
    }

    private void submitNext() {
        VolumeFile file = files.get(volume);
        int v = volume;
        long at = offset;
        int length = (int) Math.min(REGION_BYTES, file.sizeBytes() - at);
        long coveredEnd = submittedCovered + length;
        WritePipeline.InOrder work = new WritePipeline.InOrder() {
            @Override
            public void run(WritePipeline.Sequenced sequenced) throws IOException {
                long data = readRegion(sequenced, v, at, length);
                read.add(new Region(sequenced.capturedSeq(), coveredEnd, data));
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
        };
        outstanding = true;
        if (!pipeline.tryRunInOrder(work)) {
            outstanding = false; // ring full or closing: try again on the next pump
            return;
        }
        submittedCovered = coveredEnd;
        offset += length;
        if (offset >= file.sizeBytes()) {
            volume++;
            offset = 0;
            while (volume < files.size() && files.get(volume).sizeBytes() == 0) {
                volume++;
            }
        }
    }

    /**
     * Pipeline thread: reads {@code [at, at + length)} of volume {@code v} and journals its data
     * runs (and its zero runs when {@link #zeroes}); returns the data bytes journaled.
     */
    private long readRegion(WritePipeline.Sequenced sequenced, int v, long at, int length) throws IOException {
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
                    zeroRun(sequenced, v, position, runLength);
                } else {
                    data += dataRun(sequenced, file, v, position, (int) runLength);
                }
                position += runLength;
            }
        }
        return data;
    }

    private void zeroRun(WritePipeline.Sequenced sequenced, int v, long at, long length) {
        if (zeroes && length > 0) {
            sequenced.journal(v, Journal.WRITE_ZEROES, at, length, null);
        }
    }

    /** Reads a data run and journals its 4 KiB blocks, runs of zero blocks as zero runs. */
    private long dataRun(WritePipeline.Sequenced sequenced, VolumeFile file, int v, long at, int length)
            throws IOException {
        ByteBuffer chunk = buffer.clear().limit(length);
        file.read(at, chunk);
        long data = 0;
        int runStart = 0;
        boolean runZero = false;
        for (int block = 0; block < length; block += BLOCK) {
            int blockEnd = Math.min(length, block + BLOCK);
            boolean zero = Zeroes.allZero(buffer, block, blockEnd);
            if (block == 0) {
                runZero = zero;
            } else if (zero != runZero) {
                data += emit(sequenced, v, at, runStart, block, runZero);
                runStart = block;
                runZero = zero;
            }
        }
        data += emit(sequenced, v, at, runStart, length, runZero);
        return data;
    }

    private long emit(WritePipeline.Sequenced sequenced, int v, long at, int from, int to, boolean zero) {
        if (zero) {
            zeroRun(sequenced, v, at + from, to - from);
            return 0;
        }
        sequenced.journal(v, Journal.WRITE, at + from, to - from, buffer.duplicate().limit(to).position(from));
        return to - from;
    }

    /** Shipper thread: the receiver holds everything up to {@code durableSeq} durable. */
    public void onAcked(long durableSeq) {
        Region region;
        while ((region = unacked.peekFirst()) != null && region.lastSeq() <= durableSeq) {
            unacked.pollFirst();
            ackedCovered = region.coveredEnd();
        }
        int tenth = totalBytes == 0 ? 10 : (int) (ackedCovered * 10 / totalBytes);
        if (tenth > loggedTenth && tenth < 10) {
            loggedTenth = tenth;
            LOG.info("group {}: {} sync {}% ({} of {} bytes, {} bytes of data sent)", group, SyncMark.kindName(kind),
                    tenth * 10, ackedCovered, totalBytes, sentBytes);
        }
    }

    /** Every region was read (and journaled): the END mark can follow the last of them. */
    public boolean allRead() {
        return volume >= files.size() && !outstanding && read.isEmpty();
    }

    /** The mark that ends the sync: the replica holds the volumes once it applied its seq. */
    public SyncMark endMark() {
        if (!allRead()) {
            throw new IllegalStateException("group " + group + ": the sync has regions left to read");
        }
        return new SyncMark(group, lastSeq, SyncMark.END, kind, totalBytes, totalBytes);
    }

    /** Why the pipeline refused a read (the group failed or closed), or null. */
    public String refused() {
        return refused;
    }

    public int kind() {
        return kind;
    }

    public long totalBytes() {
        return totalBytes;
    }

    /** Volume bytes the receiver holds durable. */
    public long doneBytes() {
        return ackedCovered;
    }

    /** Data bytes read and journaled (holes and zero blocks are not data). */
    public long sentBytes() {
        return sentBytes;
    }

    /** The status as both daemons show it. */
    public SyncStatus status(long nowNanos) {
        return SyncStatus.of(SyncMark.kindName(kind), totalBytes, ackedCovered, sentBytes, startNanos, nowNanos);
    }

    /** Logs the end once the receiver acknowledged the END mark. */
    public void logComplete(long nowNanos) {
        double seconds = Math.max(1e-9, (nowNanos - startNanos) / 1e9);
        LOG.info("group {}: {} sync complete: {} bytes covered, {} bytes of data sent in {} s ({} MB/s)", group,
                SyncMark.kindName(kind), totalBytes, sentBytes, String.format("%.1f", seconds),
                String.format("%.1f", sentBytes / seconds / 1e6));
    }
}
