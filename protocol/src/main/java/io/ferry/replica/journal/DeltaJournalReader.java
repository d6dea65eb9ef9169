package io.ferry.replica.journal;

import io.ferry.log.LogInput;
import io.ferry.log.LogReader;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Reads a {@link DeltaJournal} in seq order through a reader of the log engine. Owned by one
 * thread (it may be created on another). Bodies are copied into one heap buffer the reader
 * owns, grown to the largest body read.
 */
public final class DeltaJournalReader implements AutoCloseable {
    private static final int INITIAL_BUFFER_BYTES = 64 << 10;

    private final String group;
    private final LogReader reader;
    private long nextSeq;
    private ByteBuf buffer;
    private boolean closed;

    DeltaJournalReader(String group, LogReader reader, long fromSeq) {
        this.group = group;
        this.reader = reader;
        this.nextSeq = fromSeq;
    }

    /** The first seq of the record {@link #next} returns next (before the first: the seq asked for). */
    public long nextSeq() {
        return nextSeq;
    }

    /**
     * Reads the next record into {@code into} if one is appended whose last seq is at most
     * {@code maxLastSeq} (the applier passes the durable seq). The first record a reader returns
     * is the one containing the seq it was created for, so it may start before that seq.
     *
     * @return false when there is no such record yet
     * @throws io.ferry.log.LogException if the journal is damaged (a record out of seq order)
     */
    public boolean next(DeltaRecord into, long maxLastSeq) {
        if (closed) {
            throw new IllegalStateException("reader of journal of group " + group + " is closed");
        }
        if (!reader.next(maxLastSeq)) {
            return false;
        }
        LogInput in = reader.body();
        long captureNanos = in.readLong();
        int bodyBytes = in.readInt();
        if (bodyBytes < 0 || bodyBytes != in.remaining()) {
            throw new JournalException("journal of group " + group + ": record of seqs " + reader.firstSeq() + ".."
                    + reader.lastSeq() + " says " + bodyBytes + " body bytes but holds " + in.remaining()
                    + "; the journal is damaged");
        }
        ByteBuf body = bodyBuffer(bodyBytes);
        in.readFully(body.array(), body.arrayOffset(), bodyBytes);
        body.setIndex(0, bodyBytes);
        into.set(reader.firstSeq(), reader.lastSeq(), captureNanos, body);
        nextSeq = reader.lastSeq() + 1;
        return true;
    }

    private ByteBuf bodyBuffer(int bytes) {
        if (buffer == null || buffer.capacity() < bytes) {
            int capacity = Math.max(bytes, buffer == null ? INITIAL_BUFFER_BYTES : Math.min(
                    DeltaJournal.MAX_BODY_BYTES, buffer.capacity() * 2));
            if (buffer != null) {
                buffer.release();
                buffer = null;
            }
            buffer = Unpooled.buffer(capacity, capacity); // heap: bulk copies (see LogInput#readFully)
        }
        buffer.clear();
        return buffer;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                reader.close();
            } finally {
                if (buffer != null) {
                    buffer.release();
                    buffer = null;
                }
            }
        }
    }
}
