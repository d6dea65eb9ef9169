package io.ferry.replica.journal;

import io.netty.buffer.ByteBuf;

/**
 * One journal record as a {@link DeltaJournalReader} returns it: the seq range, the capture time
 * of its last write and the DELTA body. Reused by the reader: valid until its next
 * {@link DeltaJournalReader#next} or {@link DeltaJournalReader#close}; the body belongs to the
 * reader (do not release it; retain a copy to keep it).
 */
public final class DeltaRecord {
    private long firstSeq;
    private long lastSeq;
    private long captureNanos;
    private ByteBuf body;

    void set(long firstSeq, long lastSeq, long captureNanos, ByteBuf body) {
        this.firstSeq = firstSeq;
        this.lastSeq = lastSeq;
        this.captureNanos = captureNanos;
        this.body = body;
    }

    public long firstSeq() {
        return firstSeq;
    }

    public long lastSeq() {
        return lastSeq;
    }

    public long captureNanos() {
        return captureNanos;
    }

    /** The DELTA frame body, readable from its reader index. */
    public ByteBuf body() {
        return body;
    }

    @Override
    public String toString() {
        return "DeltaRecord[seq " + firstSeq + ".." + lastSeq + ", " + (body == null ? 0 : body.readableBytes())
                + " body bytes]";
    }
}
