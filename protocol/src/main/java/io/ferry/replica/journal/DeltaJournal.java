package io.ferry.replica.journal;

import io.ferry.log.LogException;
import io.ferry.log.LogOutput;
import io.ferry.log.LogReader;
import io.ferry.log.RecordLog;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The receiver's journal of one consistency group: every DELTA frame body the group received,
 * in seq order, kept until it is applied to the replicas (and, later, for as long as
 * recovery-point retention holds it). One record per delta on the shared log engine
 * ({@link RecordLog}, Chronicle Queue underneath), which owns the files, recovery, sync and
 * release; this class owns the record's body.
 *
 * <h2>Record</h2>
 * One log record of seqs {@code firstSeq..lastSeq} per delta, its body (little-endian, after the
 * engine's seq header) {@code captureNanos:8 bodyLength:4 body:bodyLength}, the body being the
 * DELTA frame body exactly as received (its own xxHash64 is verified when it is decoded for
 * apply). A body may be up to {@link #MAX_BODY_BYTES}.
 *
 * <h2>Crash recovery</h2>
 * The engine's: after a kill -9 the journal ends at its last whole record, and open syncs what
 * it recovered, so that it may be acknowledged; {@link #lastCaptureNanos()} is read back from
 * the last record.
 *
 * <h2>Threads</h2>
 * The journal thread calls {@link #append} and, between batches, {@link #sync} (which any
 * thread may call). {@link #release}, {@link #reader}, {@link #lastSeq} and
 * {@link #bytesOnDisk} are thread-safe; a reader is owned by one thread.
 */
public final class DeltaJournal implements AutoCloseable {

    /** Largest DELTA body one record holds (a frame is at most 40 MiB by default). */
    public static final int MAX_BODY_BYTES = RecordLog.MAX_RECORD_BYTES - RecordLog.SEQ_HEADER_BYTES - 12;
    static final String KIND = "receiver-delta-journal";

    /** Tuning of a journal: the size at which it starts a new file. */
    public record Options(long segmentSizeBytes) {
        public Options {
            RecordLog.Options.requireSegmentBytes(segmentSizeBytes, "journal segmentSizeBytes");
        }

        public static Options defaults() {
            return new Options(RecordLog.Options.DEFAULT_SEGMENT_BYTES);
        }
    }

    private final RecordLog log;
    private final String group;
    private volatile long lastCaptureNanos;

    private DeltaJournal(RecordLog log, String group) {
        this.log = log;
        this.group = group;
    }

    /**
     * Opens (creating if needed) the journal of {@code group} in {@code dir}: recovers
     * {@link #firstSeq()}, {@link #lastSeq()} and {@link #lastCaptureNanos()} from disk,
     * including after a crash, and syncs them. Throws {@link JournalException} when the
     * directory holds another group's journal, is open elsewhere, or has a gap.
     */
    public static DeltaJournal open(Path dir, String group, Options options) {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(options, "options");
        RecordLog log;
        try {
            log = RecordLog.open(dir, KIND, group, "journal of group " + group,
                    new RecordLog.Options(options.segmentSizeBytes()));
        } catch (LogException e) {
            throw new JournalException(e.getMessage(), e);
        }
        DeltaJournal journal = new DeltaJournal(log, group);
        if (log.lastSeq() > 0) {
            try (LogReader last = log.reader(log.lastSeq())) {
                if (!last.next()) {
                    throw new JournalException("journal of group " + group + ": the last record is not readable");
                }
                journal.lastCaptureNanos = last.body().readLong();
            } catch (RuntimeException e) {
                log.close();
                throw e;
            }
        }
        return journal;
    }

    public String group() {
        return group;
    }

    public Path directory() {
        return log.directory();
    }

    /**
     * Appends one record holding the readable bytes of {@code body} (its indices are left
     * unchanged, the caller keeps its reference). Journal thread only. Not durable until a
     * {@link #sync} that starts after this returns.
     *
     * @throws IllegalArgumentException for {@code firstSeq != lastSeq() + 1}, {@code lastSeq < firstSeq}
     *         or a body over {@link #MAX_BODY_BYTES}
     */
    public void append(long firstSeq, long lastSeq, long captureNanos, ByteBuf body) {
        int bodyBytes = body.readableBytes();
        if (bodyBytes > MAX_BODY_BYTES) {
            throw new IllegalArgumentException("journal of group " + group + ": DELTA body of " + bodyBytes
                    + " bytes exceeds the journal's record limit of " + MAX_BODY_BYTES + " bytes");
        }
        LogOutput out = log.beginAppend(firstSeq, lastSeq);
        try {
            out.writeLong(captureNanos).writeInt(bodyBytes);
            if (bodyBytes > 0) {
                for (ByteBuffer part : body.nioBuffers(body.readerIndex(), bodyBytes)) {
                    out.write(part);
                }
            }
        } catch (RuntimeException e) {
            log.abortAppend();
            throw e;
        }
        lastCaptureNanos = captureNanos;
        log.commitAppend();
    }

    /**
     * Makes every record whose {@link #append} returned before this call started durable. Any
     * thread; concurrent calls are serialised. Throws {@link io.ferry.log.LogException} if a sync
     * fails; the records' durability is then unknown and the journal must not be trusted further.
     */
    public void sync() {
        log.sync();
    }

    /** Last seq of the last record appended (0 for an empty journal). */
    public long lastSeq() {
        return log.lastSeq();
    }

    /** Capture time of the last record appended (0 for an empty journal). */
    public long lastCaptureNanos() {
        return lastCaptureNanos;
    }

    /** The first seq still held, or {@code lastSeq() + 1} when none. */
    public long firstSeq() {
        return log.firstSeq();
    }

    /**
     * A reader positioned at the record that contains {@code fromSeq}; a reader of
     * {@code lastSeq() + 1} tails (returns records as they are appended). Close it before the
     * journal.
     *
     * @throws IllegalArgumentException for a seq already released or above {@code lastSeq() + 1}
     */
    public DeltaJournalReader reader(long fromSeq) {
        return new DeltaJournalReader(group, log.reader(fromSeq), fromSeq);
    }

    /**
     * Deletes every file whose records all end at or before {@code seq}, never the one being
     * appended to; {@link #firstSeq()} moves to the oldest file left. Any thread. A reader inside
     * a deleted file can finish it.
     */
    public void release(long seq) {
        log.release(seq);
    }

    /** Bytes the records take in the journal's files. Any thread. */
    public long bytesOnDisk() {
        return log.bytesOnDisk();
    }

    /** The log underneath: for tests that tear a record. */
    RecordLog log() {
        return log;
    }

    /**
     * Syncs (a clean shutdown leaves everything durable), then releases the files and the
     * directory lock. Call it after the journal thread and the readers are done. Idempotent.
     */
    @Override
    public void close() {
        log.close();
    }
}
