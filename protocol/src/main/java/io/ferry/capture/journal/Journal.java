package io.ferry.capture.journal;

import java.nio.ByteBuffer;

/**
 * The write journal of one consistency group: every captured write, zero-write and trim, in
 * sequence order, on local disk, on the shared log engine ({@code io.ferry.log}).
 *
 * <p>Threads: {@link #append} is called by a single writer thread (the group's pipeline
 * thread). {@link #sync} may be called from another thread (the group's sync thread) and makes
 * durable every record whose append returned before the call. Readers are independent objects,
 * each owned by one thread. {@link #release} and {@link #bytesOnDisk} are thread-safe.
 */
public interface Journal extends AutoCloseable {

    /** Record types. */
    byte WRITE = 1;
    byte WRITE_ZEROES = 2;
    byte TRIM = 3;

    String group();

    /**
     * Appends one record. {@code seq} must be exactly {@link #lastSeq()} + 1. For
     * {@link #WRITE}, {@code data} holds exactly {@code length} readable bytes (its position is
     * left unchanged); for {@link #WRITE_ZEROES} and {@link #TRIM} it is null and the record
     * carries no payload. Not durable until {@link #sync}.
     */
    void append(String volume, long seq, long offset, long length, long captureNanos, byte type, ByteBuffer data);

    /** Makes every record appended before this call durable on stable storage. */
    void sync();

    /** Highest seq appended (recovered from disk on open), or 0 for an empty journal. */
    long lastSeq();

    /** Lowest seq still held, or {@code lastSeq() + 1} when nothing is held. */
    long firstSeq();

    /**
     * Opens a reader positioned so that its first {@link JournalReader#next} returns the record
     * with {@code fromSeq}. Throws {@link IllegalArgumentException} if {@code fromSeq} was
     * released already (below {@link #firstSeq()}).
     */
    JournalReader reader(long fromSeq);

    /**
     * Records up to and including {@code seq} are no longer needed (the receiver has them
     * durable). Files holding only released records are deleted.
     */
    void release(long seq);

    /**
     * Drops every record and goes on after {@code seq}: the journal then holds nothing,
     * {@link #lastSeq()} is {@code seq} and the next append takes {@code seq + 1}. For a group
     * whose records were folded into its dirty map. The caller makes sure no reader is open and
     * nothing appends meanwhile.
     */
    void startOver(long seq);

    /** Bytes the journal occupies on disk now. */
    long bytesOnDisk();

    @Override
    void close();
}
