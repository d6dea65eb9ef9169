package io.ferry.receiver.journal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Reads a {@link DeltaJournal} in seq order, one segment at a time, through its own Chronicle
 * queue instance and tailer. Owned by one thread (it may be created on another).
 *
 * <p>Positioning: a segment's records are found by scanning its document headers from the
 * start (records span seq ranges, so a Chronicle index does not name a seq); it is done once,
 * when the reader is created. Moving to the next segment: a segment is sealed before the next
 * one is published, and the next one is published only after its first record is written, so
 * when the tailer finds nothing and the journal lists a segment starting at the reader's next
 * seq, the current segment is finished.
 *
 * <p>Bodies are copied into one heap buffer the reader owns, grown to the largest body read.
 */
public final class DeltaJournalReader implements AutoCloseable {
    private static final int INITIAL_BUFFER_BYTES = 64 << 10;
    private static final int READ = 0;
    private static final int NOTHING = 1;
    private static final int BEYOND_LIMIT = 2;

    private final DeltaJournal journal;
    private long nextSeq;
    /** Set until the record containing it was found: the first record may start before it. */
    private long positionSeq;
    private JournalSegment segment;
    private SingleChronicleQueue queue;
    private ExcerptTailer tailer;
    private ByteBuf buffer;
    private boolean closed;

    DeltaJournalReader(DeltaJournal journal, long fromSeq) {
        this.journal = journal;
        this.nextSeq = fromSeq;
        this.positionSeq = fromSeq;
    }

    /**
     * Opens the segment that holds (or will hold) {@code seq}. Returns false if it was released.
     * With no segment yet (an empty journal) the reader waits for the first one.
     */
    boolean openSegmentContaining(long seq) {
        synchronized (journal.segmentLock()) {
            JournalSegment[] segs = journal.segments();
            JournalSegment found = null;
            for (JournalSegment s : segs) {
                if (s.firstSeq > seq) {
                    break;
                }
                found = s;
            }
            if (found == null) {
                return segs.length == 0 || segs[0].firstSeq == seq;
            }
            if (found.released) {
                return false;
            }
            open(found);
            return true;
        }
    }

    /** The first seq of the record {@link #next} returns next. */
    public long nextSeq() {
        return nextSeq;
    }

    /**
     * Reads the next record into {@code into} if one is appended whose last seq is at most
     * {@code maxLastSeq} (the applier passes the durable seq). The first record a reader returns
     * is the one containing the seq it was created for, so it may start before that seq.
     *
     * @return false when there is no such record yet
     * @throws JournalException if the journal is damaged (a record out of seq order)
     */
    public boolean next(DeltaRecord into, long maxLastSeq) {
        if (closed) {
            throw new IllegalStateException("reader of journal of group " + journal.group() + " is closed");
        }
        if (positionSeq < 0 && nextSeq > maxLastSeq) {
            return false;
        }
        boolean lookedForNext = false;
        while (true) {
            if (tailer != null) {
                int read = readNext(into, maxLastSeq);
                if (read == READ) {
                    return true;
                }
                if (read == BEYOND_LIMIT) {
                    return false;
                }
            }
            if (!moveToNextSegment(lookedForNext)) {
                return false;
            }
            lookedForNext = true;
        }
    }

    private int readNext(DeltaRecord into, long maxLastSeq) {
        while (true) {
            try (DocumentContext dc = tailer.readingDocument()) {
                if (!dc.isPresent()) {
                    return NOTHING;
                }
                Bytes<?> bytes = dc.wire().bytes();
                long first = bytes.readLong();
                long last = bytes.readLong();
                if (positionSeq >= 0) {
                    if (last < positionSeq) {
                        continue; // before the record we look for: skip it
                    }
                    if (first > positionSeq) {
                        throw new JournalException("journal of group " + journal.group() + ": segment " + segment
                                + " has no record containing seq " + positionSeq + " (next is " + first + ".." + last
                                + "); the journal is damaged");
                    }
                    nextSeq = first;
                } else if (first != nextSeq) {
                    throw new JournalException("journal of group " + journal.group() + ": segment " + segment
                            + " holds seqs " + first + ".." + last + " where seq " + nextSeq
                            + " was expected; the journal is damaged");
                }
                if (last > maxLastSeq) {
                    dc.rollbackOnClose();
                    return BEYOND_LIMIT;
                }
                long captureNanos = bytes.readLong();
                int bodyBytes = bytes.readInt();
                if (bodyBytes < 0 || bodyBytes != bytes.readRemaining()) {
                    throw new JournalException("journal of group " + journal.group() + ": record of seqs " + first + ".."
                            + last + " in segment " + segment + " says " + bodyBytes + " body bytes but holds "
                            + bytes.readRemaining() + "; the journal is damaged");
                }
                ByteBuf body = bodyBuffer(bodyBytes);
                // Not bytes.read(ByteBuffer): Chronicle copies that one byte at a time, which made
                // reading the journal the applier's bottleneck. read(byte[]...) copies in bulk.
                byte[] array = body.array();
                int at = body.arrayOffset();
                for (int left = bodyBytes; left > 0; ) {
                    int n = bytes.read(array, at, left);
                    if (n <= 0) {
                        throw new JournalException("journal of group " + journal.group() + ": record of seqs " + first
                                + ".." + last + " in segment " + segment + " ends " + left + " bytes short");
                    }
                    at += n;
                    left -= n;
                }
                body.setIndex(0, bodyBytes);
                into.set(first, last, captureNanos, body);
                positionSeq = -1;
                nextSeq = last + 1;
                return READ;
            }
        }
    }

    private ByteBuf bodyBuffer(int bytes) {
        if (buffer == null || buffer.capacity() < bytes) {
            int capacity = Math.max(bytes, buffer == null ? INITIAL_BUFFER_BYTES : Math.min(
                    DeltaJournal.MAX_BODY_BYTES, buffer.capacity() * 2));
            if (buffer != null) {
                buffer.release();
                buffer = null;
            }
            buffer = Unpooled.buffer(capacity, capacity); // heap: see readNext
        }
        buffer.clear();
        return buffer;
    }

    /**
     * Switches to the segment starting at {@link #nextSeq} if the journal lists it. Returns
     * false when there is nothing more to read yet, true when the caller should read again.
     */
    private boolean moveToNextSegment(boolean lookedBefore) {
        long want = positionSeq >= 0 ? positionSeq : nextSeq;
        JournalSegment[] segs = journal.segments();
        JournalSegment next = null;
        boolean laterExists = false;
        for (JournalSegment s : segs) {
            if (s != segment && s.firstSeq <= want && (next == null || s.firstSeq > next.firstSeq)
                    && (segment == null || s.firstSeq > segment.firstSeq)) {
                next = s;
            } else if (s.firstSeq > want) {
                laterExists = true;
            }
        }
        if (next == null) {
            if (segs.length > 0 && segs[0].firstSeq > want) {
                throw new IllegalStateException("reader of journal of group " + journal.group() + " at seq " + want
                        + " fell behind release; the journal holds seqs from " + segs[0].firstSeq);
            }
            if (laterExists && segment != null) {
                if (lookedBefore) {
                    throw new JournalException("journal of group " + journal.group() + ": segment " + segment
                            + " ends before seq " + want + " although a later segment exists; the journal is damaged");
                }
                return true; // the current segment got its last records after our read: read it once more
            }
            return false;
        }
        synchronized (journal.segmentLock()) {
            if (next.released) {
                throw new IllegalStateException("reader of journal of group " + journal.group() + " at seq " + want
                        + " fell behind release; the journal holds seqs from " + journal.firstSeq());
            }
            open(next);
        }
        return true;
    }

    private void open(JournalSegment s) {
        closeSegment();
        segment = s;
        queue = DeltaJournal.openQueue(s.dir);
        tailer = queue.createTailer();
        tailer.singleThreadedCheckDisabled(true);
    }

    private void closeSegment() {
        try {
            if (tailer != null) {
                tailer.close();
            }
        } finally {
            tailer = null;
            if (queue != null) {
                queue.close();
                queue = null;
            }
            segment = null;
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                closeSegment();
            } finally {
                if (buffer != null) {
                    buffer.release();
                    buffer = null;
                }
            }
        }
    }
}
