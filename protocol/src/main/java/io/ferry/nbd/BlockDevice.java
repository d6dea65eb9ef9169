package io.ferry.nbd;

import io.netty.buffer.ByteBuf;

/**
 * A block device that {@link NbdServer} exports. The server has already checked every request
 * against {@link #sizeBytes()} and {@link #isReadOnly()} before calling, so implementations see
 * only in-range requests.
 *
 * <p>Threads: the server calls from its event-loop threads, possibly several connections at
 * once; implementations must be thread-safe, must not block the caller on disk syncs, and may
 * call the completion on any thread (inline included). Every method calls its completion exactly
 * once.
 */
public interface BlockDevice {

    long sizeBytes();

    boolean isReadOnly();

    /**
     * True when a {@link #flush} issued on any connection makes the writes completed on every
     * connection of this device durable, so the server may advertise CAN_MULTI_CONN.
     */
    boolean flushCoversAllConnections();

    /**
     * Reads {@code length} bytes at {@code offset} into {@code dst}, advancing its writer index by
     * {@code length}, then completes. {@code dst} stays owned by the caller.
     */
    void read(long offset, int length, ByteBuf dst, IoCompletion done);

    /**
     * Writes all readable bytes of {@code data} at {@code offset}. The device takes ownership of
     * one reference to {@code data} and releases it exactly once, whether the write succeeds or
     * not. Completes once later reads see the data; with {@code fua}, once it is also on stable
     * storage.
     */
    void write(long offset, ByteBuf data, boolean fua, IoCompletion done);

    /** Makes {@code [offset, offset + length)} read back as zeroes; {@code length} may be ~4 GiB. */
    void writeZeroes(long offset, long length, boolean fua, IoCompletion done);

    /** Discards {@code [offset, offset + length)}; its content afterwards is unspecified. */
    void trim(long offset, long length, boolean fua, IoCompletion done);

    /** Completes once every write completed before this call is on stable storage. */
    void flush(IoCompletion done);

    /**
     * True when {@link #writeZeroes} is always cheap (no data is written, for example a hole
     * punch or a metadata update), so the server may honour NBD_CMD_FLAG_FAST_ZERO; otherwise
     * the server answers fast-zero requests with ENOTSUP and the client zeroes some other way.
     */
    default boolean canZeroFast() {
        return false;
    }

    /**
     * Allocation status for {@code base:allocation}: extents covering {@code [offset, offset +
     * length)} from its start (the last may end past or short of the range end, as the spec
     * allows). The default reports the whole range as allocated data.
     */
    default void blockStatus(long offset, long length, ExtentSink sink) {
        sink.extent(length, 0);
    }

    /**
     * The device as one connection sees it. A device whose queue can be full (a group's ring)
     * returns a view that, instead of blocking the event loop, holds the request it cannot queue,
     * calls {@link ConnectionFlow#suspend()} and, once it queued everything it held, in order,
     * {@link ConnectionFlow#resume()}. Called once per connection when its transmission phase
     * starts; the default needs no flow control and returns this device.
     */
    default BlockDevice forConnection(ConnectionFlow flow) {
        return this;
    }

    /**
     * Read back-pressure on one NBD connection, given to {@link #forConnection}. Every method
     * must be called on the connection's event loop ({@link #executor()}).
     */
    interface ConnectionFlow {
        /** Stops decoding requests of this connection (autoRead off) until {@link #resume()}. */
        void suspend();

        /** Decodes requests again, starting with those already received. */
        void resume();

        /** The connection's event loop: where a device hands back held requests to retry them. */
        java.util.concurrent.Executor executor();
    }

    /** Receives extents of a {@link #blockStatus} answer in order. */
    @FunctionalInterface
    interface ExtentSink {
        /** {@code flags}: NBD_STATE_HOLE (1) and/or NBD_STATE_ZERO (2), or 0 for data. */
        void extent(long lengthBytes, int flags);
    }
}
