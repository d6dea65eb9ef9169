package io.ferry.agent.journal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Reads a {@link ChronicleJournal} in seq order, one segment at a time, through its own
 * Chronicle queue instance and tailer. Owned by one thread (it may be created on another).
 *
 * <p>Moving to the next segment: a segment is sealed before the next one is published, and
 * the next one is published only after its first record is written. So when the tailer finds
 * nothing more and the journal lists a segment starting at the reader's next seq, the current
 * segment is finished. Volume names are interned in a small cache, so that reading allocates
 * only for a name not seen recently (and for a larger payload buffer, see {@link JournalEntry}).
 */
final class ChronicleJournalReader implements JournalReader {
    private static final int VOLUME_CACHE_SIZE = 16;
    /** Outcomes of {@link #readNext}. */
    private static final int READ = 0;
    private static final int NOTHING = 1;
    private static final int OTHER_SEQ = 2;

    private final ChronicleJournal journal;
    private final String[] volumeCache = new String[VOLUME_CACHE_SIZE];
    private final byte[] nameBytes = new byte[ChronicleJournal.MAX_VOLUME_NAME_BYTES];
    private int volumeCacheNext;

    private long nextSeq;
    private Segment segment;
    private SingleChronicleQueue queue;
    private ExcerptTailer tailer;
    private boolean positioned;
    private boolean closed;

    ChronicleJournalReader(ChronicleJournal journal, long fromSeq) {
        this.journal = journal;
        this.nextSeq = fromSeq;
    }

    /**
     * Opens the segment that holds (or will hold) {@code seq}. Returns false if that segment was
     * released. With no segment yet (an empty journal) the reader waits for the first one.
     */
    boolean openSegmentContaining(long seq) {
        synchronized (journal.segmentLock()) {
            Segment[] segs = journal.segments();
            Segment found = null;
            for (Segment s : segs) {
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

    @Override
    public boolean next(JournalEntry into) {
        if (closed) {
            throw new IllegalStateException("reader of journal of group " + journal.group() + " is closed");
        }
        boolean lookedForNext = false;
        while (true) {
            if (tailer != null && !positioned && tailer.moveToIndex(nextSeq - segment.firstSeq)) {
                positioned = true;
            }
            if (positioned) {
                int read = readNext(into);
                if (read == READ) {
                    return true;
                }
                if (read == OTHER_SEQ) {
                    // Chronicle's index did not map index -> seq as laid out (not expected: a
                    // segment never rolls its cycle); find the record by scanning the segment.
                    scanToNextSeq();
                    continue;
                }
            }
            if (!moveToNextSegment(lookedForNext)) {
                return false;
            }
            lookedForNext = true;
        }
    }

    private int readNext(JournalEntry into) {
        try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent()) {
                return NOTHING;
            }
            Bytes<?> bytes = dc.wire().bytes();
            long seq = bytes.readLong();
            if (seq != nextSeq) {
                dc.rollbackOnClose();
                return OTHER_SEQ;
            }
            decode(bytes, seq, into);
            nextSeq++;
            return READ;
        }
    }

    /**
     * Switches to the segment starting at {@link #nextSeq} if the journal lists it. Returns
     * false when there is nothing more to read yet, true when the caller should read again.
     */
    private boolean moveToNextSegment(boolean lookedBefore) {
        Segment[] segs = journal.segments();
        Segment next = null;
        boolean laterExists = false;
        for (Segment s : segs) {
            if (s.firstSeq == nextSeq && s != segment) {
                next = s;
            } else if (s.firstSeq > nextSeq) {
                laterExists = true;
            }
        }
        if (next == null) {
            if (segs.length > 0 && segs[0].firstSeq > nextSeq) {
                throw new IllegalStateException("reader of journal of group " + journal.group() + " at seq "
                        + nextSeq + " fell behind release; the journal holds seqs from " + segs[0].firstSeq);
            }
            if (laterExists && segment != null) {
                if (lookedBefore) {
                    throw new JournalException("journal of group " + journal.group() + ": segment " + segment
                            + " ends before seq " + nextSeq + " although a later segment exists; the journal is"
                            + " damaged");
                }
                return true; // the current segment got its last records after our read: read it once more
            }
            return false;
        }
        synchronized (journal.segmentLock()) {
            if (next.released) {
                throw new IllegalStateException("reader of journal of group " + journal.group() + " at seq "
                        + nextSeq + " fell behind release; the journal holds seqs from " + journal.firstSeq());
            }
            open(next);
        }
        return true;
    }

    private void open(Segment s) {
        closeSegment();
        segment = s;
        queue = ChronicleJournal.openQueue(s.dir);
        tailer = queue.createTailer();
        tailer.singleThreadedCheckDisabled(true);
        positioned = false;
    }

    private void scanToNextSeq() {
        tailer.toStart();
        while (true) {
            try (DocumentContext dc = tailer.readingDocument()) {
                if (!dc.isPresent()) {
                    return;
                }
                long seq = dc.wire().bytes().readLong();
                if (seq >= nextSeq) {
                    dc.rollbackOnClose();
                    if (seq > nextSeq) {
                        throw new JournalException("journal of group " + journal.group() + ": segment " + segment
                                + " has no record with seq " + nextSeq + " (found " + seq + "); the journal is damaged");
                    }
                    return;
                }
            }
        }
    }

    private void decode(Bytes<?> bytes, long seq, JournalEntry into) {
        long offset = bytes.readLong();
        long length = bytes.readLong();
        long captureNanos = bytes.readLong();
        byte type = bytes.readByte();
        String volume = volumeName(bytes, bytes.readUnsignedByte());
        int payloadBytes = type == Journal.WRITE ? (int) length : 0;
        if (bytes.readRemaining() != payloadBytes) {
            throw new JournalException("journal of group " + journal.group() + ": record of seq " + seq + " in segment "
                    + segment + " has " + bytes.readRemaining() + " payload bytes, expected " + payloadBytes);
        }
        ByteBuffer data = into.set(volume, seq, offset, length, captureNanos, type, payloadBytes);
        if (payloadBytes > 0) {
            // Not bytes.read(ByteBuffer): Chronicle copies that one byte at a time, which made
            // reading the journal the shipper's bottleneck. read(byte[]...) copies in bulk.
            byte[] array = data.array();
            int at = data.arrayOffset();
            int left = payloadBytes;
            while (left > 0) {
                int n = bytes.read(array, at, left);
                if (n <= 0) {
                    throw new JournalException("journal of group " + journal.group() + ": record of seq " + seq
                            + " in segment " + segment + " ends " + left + " bytes short");
                }
                at += n;
                left -= n;
            }
        }
    }

    private String volumeName(Bytes<?> bytes, int length) {
        long position = bytes.readPosition();
        for (String cached : volumeCache) {
            if (cached != null && cached.length() == length && matches(bytes, position, cached)) {
                bytes.readSkip(length);
                return cached;
            }
        }
        bytes.read(nameBytes, 0, length);
        String name = new String(nameBytes, 0, length, StandardCharsets.US_ASCII);
        volumeCache[volumeCacheNext] = name;
        volumeCacheNext = (volumeCacheNext + 1) % VOLUME_CACHE_SIZE;
        return name;
    }

    private static boolean matches(Bytes<?> bytes, long position, String name) {
        for (int i = 0; i < name.length(); i++) {
            if (bytes.readByte(position + i) != (byte) name.charAt(i)) {
                return false;
            }
        }
        return true;
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
            closeSegment();
        }
    }
}
