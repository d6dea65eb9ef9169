package io.ferry.log;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.TailerDirection;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Reads a {@link RecordLog} through a Chronicle tailer of its own: oldest first from a seq
 * ({@link RecordLog#reader}), following the log as it grows and rolls, or newest first
 * ({@link RecordLog#newestFirst}, Chronicle's {@link TailerDirection#BACKWARD}). Checks that the
 * records it returns are contiguous in seq. Owned by one thread (it may be created on another);
 * close it before the log.
 */
public final class LogReader implements AutoCloseable {
    private final RecordLog log;
    private final ExcerptTailer tailer;
    private final boolean forward;
    private final LogInput input = new LogInput();

    /** The record the caller is reading: closed (and the tailer moved on) by the next call. */
    private DocumentContext open;
    private long firstSeq;
    private long lastSeq;
    /** Until the first record is read: the seq it must hold (it may start before it); else -1. */
    private long positionSeq = -1;
    /** The seq the next record must start at (forward) or end at (backward); -1 when not known. */
    private long nextSeq = -1;
    private boolean closed;
    /** A newest-first reader of a log without records: there is nothing to read. */
    private boolean exhausted;

    LogReader(RecordLog log, ExcerptTailer tailer, boolean forward) {
        this.log = log;
        this.tailer = tailer;
        this.forward = forward;
        tailer.singleThreadedCheckDisabled(true);
    }

    /** Positions so that the first record read holds {@code fromSeq} ({@code last + 1}: the next one appended). */
    void positionAt(long fromSeq, long last) {
        RecordLog.Cycle[] cycles = log.cycles();
        if (cycles.length == 0) {
            tailer.toStart();
            nextSeq = fromSeq;
            return;
        }
        long target = Math.min(fromSeq, last);
        RecordLog.Cycle cycle = null;
        for (RecordLog.Cycle c : cycles) {
            if (c.firstSeq > target) {
                break;
            }
            cycle = c;
        }
        if (cycle == null && fromSeq == last + 1 && fromSeq <= cycles[0].firstSeq) {
            // Nothing is held before fromSeq: the log is empty (its first cycle was created before
            // a record, or is being written as we look), so the next record appended is the first.
            tailer.toStart();
            nextSeq = fromSeq;
            return;
        }
        if (cycle == null) {
            throw new IllegalArgumentException("the " + log.name() + ": cannot read from seq " + fromSeq
                    + ", it was released meanwhile; the log holds seqs from " + log.firstSeq());
        }
        // The record holding target is the first whose last seq is at least target (records are
        // ordered by seq). Without parts, record i starts at seq firstSeq + i or later, so it is at
        // an index of at most target - firstSeq: try that one first (records of one seq).
        long[] seqs = new long[2];
        long hi = log.parts() ? RecordLog.ROLL_CYCLE.maxMessagesPerCycle() - 1 : target - cycle.firstSeq;
        long lo = 0;
        if (!log.parts() && seqsAt(cycle, hi, seqs) && seqs[0] == target) {
            lo = hi;
        } else {
            while (lo < hi) {
                long mid = (lo + hi) >>> 1;
                if (!seqsAt(cycle, mid, seqs) || seqs[1] >= target) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
        }
        if (!tailer.moveToIndex(log.toIndex(cycle.number, lo))) {
            throw new IllegalArgumentException("the " + log.name() + ": cannot read from seq " + fromSeq
                    + ", it was released meanwhile; the log holds seqs from " + log.firstSeq());
        }
        positionSeq = target;
        if (fromSeq > last) {
            if (!next(Long.MAX_VALUE)) {
                throw new LogException("the " + log.name() + ": the record holding seq " + last + " is not readable");
            }
            finishOpen();
        }
    }

    /**
     * Positions at the newest record, to read backward. Found from the log's own cycles rather
     * than by Chronicle's backward {@code toEnd()}, which winds to the start of the queue when a
     * crash left the newest cycle file without a record.
     */
    void positionAtEnd() {
        RecordLog.Cycle[] cycles = log.cycles();
        int newest = cycles.length - 1;
        while (newest >= 0 && cycles[newest].lastSeq < cycles[newest].firstSeq) {
            newest--;
        }
        if (newest < 0) {
            exhausted = true;
            return;
        }
        RecordLog.Cycle cycle = cycles[newest];
        // The records of a cycle are at indexes 0..n-1: find the last one that holds a record.
        long[] seqs = new long[2];
        long lo = 0;
        long hi = log.parts() ? RecordLog.ROLL_CYCLE.maxMessagesPerCycle() - 1 : cycle.lastSeq - cycle.firstSeq;
        while (lo < hi) {
            long mid = (lo + hi + 1) >>> 1;
            if (seqsAt(cycle, mid, seqs)) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if (!tailer.direction(TailerDirection.BACKWARD).moveToIndex(log.toIndex(cycle.number, lo))) {
            throw new LogException("the " + log.name() + ": its newest record (cycle " + cycle.number
                    + ") is not readable");
        }
    }

    /** Reads the seqs of the record at {@code seqInCycle} of {@code cycle} into {@code out}; false if there is none. */
    private boolean seqsAt(RecordLog.Cycle cycle, long seqInCycle, long[] out) {
        if (seqInCycle < 0 || !tailer.moveToIndex(log.toIndex(cycle.number, seqInCycle))) {
            return false;
        }
        try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent() || tailer.cycle() != cycle.number) {
                if (dc.isPresent()) {
                    dc.rollbackOnClose();
                }
                return false;
            }
            Bytes<?> bytes = dc.wire().bytes();
            out[0] = bytes.readLong();
            out[1] = bytes.readLong();
            return true;
        }
    }

    /**
     * Moves to the next record and returns true, or returns false when there is none yet or the
     * next one ends after {@code maxLastSeq} (the receiver's applier passes its durable seq).
     * The record's seqs are {@link #firstSeq()}..{@link #lastSeq()}, its body {@link #body()},
     * valid until the next call.
     *
     * @throws IllegalStateException if the reader fell behind a release
     * @throws LogException if the records are not contiguous (the log is damaged)
     */
    public boolean next(long maxLastSeq) {
        if (closed) {
            throw new IllegalStateException("a reader of the " + log.name() + " is closed");
        }
        finishOpen();
        while (!exhausted) {
            DocumentContext dc = tailer.readingDocument();
            if (!dc.isPresent()) {
                dc.close();
                return false;
            }
            Bytes<?> bytes = dc.wire().bytes();
            long first = bytes.readLong();
            long last = bytes.readLong();
            if (positionSeq >= 0) {
                if (last < positionSeq) {
                    dc.close(); // before the record we look for
                    continue;
                }
                if (first > positionSeq) {
                    dc.close();
                    throw new LogException("the " + log.name() + " has no record holding seq " + positionSeq
                            + " (the next holds " + first + ".." + last + "); the log is damaged");
                }
            } else if (nextSeq >= 0 && (forward ? first != nextSeq : last != nextSeq)
                    && !(log.parts() && first == firstSeq && last == lastSeq)) {
                dc.close();
                long held = log.firstSeq();
                if (forward && nextSeq < held) {
                    throw new IllegalStateException("a reader of the " + log.name() + " at seq " + nextSeq
                            + " fell behind release (it found seqs " + first + ".." + last + "); the log holds seqs"
                            + " from " + held);
                }
                throw new LogException("the " + log.name() + " holds seqs " + first + ".." + last + " where seq "
                        + nextSeq + " was expected; the log is damaged");
            }
            if (last > maxLastSeq) {
                dc.rollbackOnClose();
                dc.close();
                return false;
            }
            open = dc;
            firstSeq = first;
            lastSeq = last;
            positionSeq = -1;
            nextSeq = forward ? last + 1 : first - 1;
            input.bind(bytes);
            return true;
        }
        return false;
    }

    /** Like {@link #next(long)} with no bound. */
    public boolean next() {
        return next(Long.MAX_VALUE);
    }

    public long firstSeq() {
        return firstSeq;
    }

    public long lastSeq() {
        return lastSeq;
    }

    /** The body of the current record, after the seq header. */
    public LogInput body() {
        return input;
    }

    private void finishOpen() {
        DocumentContext dc = open;
        open = null;
        if (dc != null) {
            dc.close();
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                finishOpen();
            } finally {
                tailer.close();
            }
        }
    }
}
