package io.ferry.nbd;

import static io.ferry.nbd.NbdProtocol.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.ArrayDeque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NBD transmission phase of one connection: decodes pipelined requests, hands each to the
 * {@link BlockDevice} without waiting for earlier ones, and writes replies in completion order
 * (cookies echoed untouched). Owned by the connection's event loop; device completions arriving
 * on other threads are handed back to it.
 *
 * <p>Hot path: requests are parsed in place from the cumulation buffer (the reader index moves only
 * once a whole request, WRITE payload included, is present); a WRITE payload goes to the device as
 * a retained slice; a READ reply is one pooled direct buffer holding header and data, which the
 * device fills. Replies written while a read batch is being decoded are flushed once at
 * read-complete; replies completed elsewhere share one flush task per burst. Request contexts are
 * recycled per connection.
 *
 * <p>Backpressure: reading stops while more than {@link #MAX_IN_FLIGHT_REQUESTS} requests or
 * {@code maxInFlightBytes} are outstanding, or the outbound buffer is above its high water mark,
 * or while the device holds a request it could not queue yet ({@link BlockDevice.ConnectionFlow}):
 * the event loop never waits for a device.
 */
final class NbdTransmissionHandler extends ByteToMessageDecoder {

    static final String NAME = "nbd-transmission";
    static final int MAX_IN_FLIGHT_REQUESTS = 512;
    /** Extents in one BLOCK_STATUS reply at most. */
    static final int MAX_EXTENTS = 16 * 1024;

    private static final Logger log = LoggerFactory.getLogger(NbdTransmissionHandler.class);

    private static final int READ_FLAGS = CMD_FLAG_FUA | CMD_FLAG_DF;
    private static final int WRITE_FLAGS = CMD_FLAG_FUA;
    private static final int ZERO_FLAGS = CMD_FLAG_FUA | CMD_FLAG_NO_HOLE | CMD_FLAG_FAST_ZERO;
    private static final int BLOCK_STATUS_FLAGS = CMD_FLAG_FUA | CMD_FLAG_REQ_ONE;
    private static final int STRUCTURED_READ_HEADER_BYTES = STRUCTURED_REPLY_HEADER_BYTES + 8;
    /** A structured ERROR chunk without message: header, u32 error, u16 message length. */
    private static final int STRUCTURED_ERROR_BYTES = STRUCTURED_REPLY_HEADER_BYTES + 6;

    private final BlockDevice device;
    private final long sizeBytes;
    private final boolean readOnly;
    private final boolean canZeroFast;
    private final boolean structured;
    /** Context id of base:allocation, or -1 when BLOCK_STATUS was not negotiated. */
    private final int blockStatusContextId;
    private final int maxPayloadBytes;
    private final long maxInFlightBytes;
    private final int readHeaderBytes;
    private final ArrayDeque<Request> freeRequests = new ArrayDeque<>();
    private final ExtentWriter extentWriter = new ExtentWriter();
    private final Runnable flushTask = this::runScheduledFlush;

    private ChannelHandlerContext ctx;
    private int inFlightRequests;
    private long inFlightBytes;
    /** Between channelRead and channelReadComplete: replies wait for the read-complete flush. */
    private boolean inReadBatch;
    /** Inside channelRead (decode loop running); guards against re-entrant decoding. */
    private boolean decoding;
    private boolean flushPending;
    private boolean flushScheduled;
    private boolean paused;
    /** The device holds a request it could not queue; nothing more is decoded until it resumes us. */
    private boolean deviceSuspended;
    /** No more requests are decoded: DISC received or the connection is being dropped. */
    private boolean stopped;
    private boolean discReceived;

    NbdTransmissionHandler(BlockDevice device, boolean structured, int blockStatusContextId, int maxPayloadBytes) {
        this.device = device.forConnection(new Flow());
        this.sizeBytes = device.sizeBytes();
        this.readOnly = device.isReadOnly();
        this.canZeroFast = device.canZeroFast();
        this.structured = structured;
        this.blockStatusContextId = blockStatusContextId;
        this.maxPayloadBytes = maxPayloadBytes;
        this.maxInFlightBytes = Math.max(64L << 20, 2L * maxPayloadBytes);
        this.readHeaderBytes = structured ? STRUCTURED_READ_HEADER_BYTES : SIMPLE_REPLY_BYTES;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        super.handlerAdded(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        inReadBatch = true;
        decoding = true;
        try {
            super.channelRead(ctx, msg);
        } finally {
            decoding = false;
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Not calling super: it would ask for one more read while we pause reading on purpose.
        inReadBatch = false;
        discardSomeReadBytes();
        if (flushPending) {
            flushPending = false;
            ctx.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable()) {
            maybeResume();
        } else {
            pause();
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (ctx.channel().isActive()) {
            log.debug("NBD connection {} failed, closing", ctx.channel().remoteAddress(), cause);
        }
        stopped = true;
        ctx.close();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (!paused && !deviceSuspended && !stopped && in.readableBytes() >= REQUEST_HEADER_BYTES) {
            int start = in.readerIndex();
            if (in.getInt(start) != REQUEST_MAGIC) {
                dropConnection(in, "bad request magic 0x" + Integer.toHexString(in.getInt(start)));
                return;
            }
            int flags = in.getUnsignedShort(start + 4);
            int type = in.getUnsignedShort(start + 6);
            long cookie = in.getLong(start + 8);
            long offset = in.getLong(start + 16);
            long length = in.getUnsignedInt(start + 24);
            if (type == CMD_WRITE) {
                if (length > maxPayloadBytes) {
                    // The payload cannot be skipped cheaply: answer, then drop the connection.
                    in.skipBytes(REQUEST_HEADER_BYTES);
                    sendSimpleReply(cookie, NbdErrors.EINVAL);
                    dropConnection(in, "WRITE of " + length + " bytes exceeds the " + maxPayloadBytes
                            + "-byte maximum payload");
                    return;
                }
                if (in.readableBytes() < REQUEST_HEADER_BYTES + length) {
                    return;
                }
                in.skipBytes(REQUEST_HEADER_BYTES);
                onWrite(flags, cookie, offset, in.readRetainedSlice((int) length));
            } else {
                in.skipBytes(REQUEST_HEADER_BYTES);
                onCommand(type, flags, cookie, offset, length);
            }
        }
    }

    private void onCommand(int type, int flags, long cookie, long offset, long length) {
        switch (type) {
            case CMD_READ -> onRead(flags, cookie, offset, length);
            case CMD_FLUSH -> {
                if ((flags & ~CMD_FLAG_FUA) != 0) {
                    sendSimpleReply(cookie, NbdErrors.EINVAL);
                } else {
                    Request request = submit(CMD_FLUSH, cookie, 0, 0, 0);
                    try {
                        device.flush(request);
                    } catch (RuntimeException e) {
                        deviceThrew(request, e);
                    }
                    afterSubmit();
                }
            }
            case CMD_TRIM -> onTrim(flags, cookie, offset, length);
            case CMD_WRITE_ZEROES -> onWriteZeroes(flags, cookie, offset, length);
            case CMD_BLOCK_STATUS -> onBlockStatus(flags, cookie, offset, length);
            case CMD_CACHE -> sendSimpleReply(cookie, (flags & ~CMD_FLAG_FUA) != 0 || !inRange(offset, length)
                    ? NbdErrors.EINVAL : NbdErrors.OK);
            case CMD_DISC -> {
                stopped = true;
                discReceived = true;
                ByteBuf rest = internalBuffer();
                rest.skipBytes(rest.readableBytes());
                closeIfDrained();
            }
            default -> sendSimpleReply(cookie, NbdErrors.EINVAL);
        }
    }

    private void onRead(int flags, long cookie, long offset, long length) {
        int errno;
        if ((flags & ~READ_FLAGS) != 0 || length > maxPayloadBytes || !inRange(offset, length)) {
            errno = NbdErrors.EINVAL;
        } else if (length == 0) {
            errno = NbdErrors.OK;
        } else {
            ByteBuf reply = ctx.alloc().directBuffer(readHeaderBytes + (int) length);
            reply.writerIndex(readHeaderBytes);
            Request request = submit(CMD_READ, cookie, offset, (int) length, length);
            request.readReply = reply;
            try {
                device.read(offset, (int) length, reply, request);
            } catch (RuntimeException e) {
                deviceThrew(request, e);
            }
            afterSubmit();
            return;
        }
        if (structured) {
            sendStructuredStatus(cookie, errno);
        } else {
            sendSimpleReply(cookie, errno);
        }
    }

    private void onWrite(int flags, long cookie, long offset, ByteBuf payload) {
        int length = payload.readableBytes();
        int errno = NbdErrors.OK;
        if ((flags & ~WRITE_FLAGS) != 0) {
            errno = NbdErrors.EINVAL;
        } else if (readOnly) {
            errno = NbdErrors.EPERM;
        } else if (!inRange(offset, length)) {
            errno = NbdErrors.ENOSPC;
        }
        if (errno != NbdErrors.OK || length == 0) {
            payload.release();
            sendSimpleReply(cookie, errno);
            return;
        }
        Request request = submit(CMD_WRITE, cookie, offset, length, length);
        try {
            device.write(offset, payload, (flags & CMD_FLAG_FUA) != 0, request);
        } catch (RuntimeException e) {
            deviceThrew(request, e);
        }
        afterSubmit();
    }

    private void onTrim(int flags, long cookie, long offset, long length) {
        int errno = NbdErrors.OK;
        if ((flags & ~CMD_FLAG_FUA) != 0) {
            errno = NbdErrors.EINVAL;
        } else if (readOnly) {
            errno = NbdErrors.EPERM;
        } else if (!inRange(offset, length)) {
            errno = NbdErrors.EINVAL;
        }
        if (errno != NbdErrors.OK || length == 0) {
            sendSimpleReply(cookie, errno);
            return;
        }
        Request request = submit(CMD_TRIM, cookie, offset, 0, 0);
        try {
            device.trim(offset, length, (flags & CMD_FLAG_FUA) != 0, request);
        } catch (RuntimeException e) {
            deviceThrew(request, e);
        }
        afterSubmit();
    }

    private void onWriteZeroes(int flags, long cookie, long offset, long length) {
        int errno = NbdErrors.OK;
        if ((flags & ~ZERO_FLAGS) != 0) {
            errno = NbdErrors.EINVAL;
        } else if (readOnly) {
            errno = NbdErrors.EPERM;
        } else if (!inRange(offset, length)) {
            errno = NbdErrors.ENOSPC;
        } else if ((flags & CMD_FLAG_FAST_ZERO) != 0 && !canZeroFast) {
            errno = NbdErrors.ENOTSUP;
        }
        if (errno != NbdErrors.OK || length == 0) {
            sendSimpleReply(cookie, errno);
            return;
        }
        Request request = submit(CMD_WRITE_ZEROES, cookie, offset, 0, 0);
        try {
            device.writeZeroes(offset, length, (flags & CMD_FLAG_FUA) != 0, request);
        } catch (RuntimeException e) {
            deviceThrew(request, e);
        }
        afterSubmit();
    }

    private void onBlockStatus(int flags, long cookie, long offset, long length) {
        if ((flags & ~BLOCK_STATUS_FLAGS) != 0 || blockStatusContextId < 0 || !inRange(offset, length)) {
            if (structured) {
                sendStructuredStatus(cookie, NbdErrors.EINVAL);
            } else {
                sendSimpleReply(cookie, NbdErrors.EINVAL);
            }
            return;
        }
        if (length == 0) {
            sendStructuredStatus(cookie, NbdErrors.OK);
            return;
        }
        ByteBuf reply = ctx.alloc().directBuffer(STRUCTURED_REPLY_HEADER_BYTES + 4 + 8 * 16);
        reply.writerIndex(STRUCTURED_REPLY_HEADER_BYTES + 4);
        extentWriter.start(reply, length, (flags & CMD_FLAG_REQ_ONE) != 0);
        try {
            device.blockStatus(offset, length, extentWriter);
        } catch (RuntimeException e) {
            extentWriter.finish();
            reply.release();
            log.warn("block status of [{}, +{}) failed on the device", offset, length, e);
            sendStructuredStatus(cookie, NbdErrors.EIO);
            return;
        }
        int extents = extentWriter.finish();
        if (extents == 0) {
            reply.writeInt((int) length).writeInt(0);
            extents = 1;
        }
        reply.setInt(0, STRUCTURED_REPLY_MAGIC);
        reply.setShort(4, REPLY_FLAG_DONE);
        reply.setShort(6, REPLY_TYPE_BLOCK_STATUS);
        reply.setLong(8, cookie);
        reply.setInt(16, 4 + 8 * extents);
        reply.setInt(20, blockStatusContextId);
        sendReply(reply);
    }

    private boolean inRange(long offset, long length) {
        return offset >= 0 && offset <= sizeBytes && length <= sizeBytes - offset;
    }

    private Request submit(int type, long cookie, long offset, int length, long bytes) {
        Request request = freeRequests.poll();
        if (request == null) {
            request = new Request();
        }
        request.type = type;
        request.cookie = cookie;
        request.offset = offset;
        request.length = length;
        request.bytes = bytes;
        inFlightRequests++;
        inFlightBytes += bytes;
        return request;
    }

    /**
     * A device that throws instead of completing is treated as having failed the request with EIO
     * (and, for a WRITE, as having released the payload, as its contract demands).
     */
    private void deviceThrew(Request request, RuntimeException e) {
        log.warn("block device threw instead of completing a request of type {}", request.type, e);
        request.complete(NbdErrors.EIO);
    }

    private void afterSubmit() {
        if (inFlightRequests >= MAX_IN_FLIGHT_REQUESTS || inFlightBytes >= maxInFlightBytes) {
            pause();
        }
    }

    /** Runs on the event loop once the device completed {@code request}. */
    private void onComplete(Request request) {
        inFlightRequests--;
        inFlightBytes -= request.bytes;
        int errno = request.errno;
        if (request.type == CMD_READ) {
            ByteBuf reply = request.readReply;
            request.readReply = null;
            if (errno == NbdErrors.OK && reply.writerIndex() != readHeaderBytes + request.length) {
                errno = NbdErrors.EIO; // the device did not deliver what it promised
            }
            if (errno == NbdErrors.OK) {
                if (structured) {
                    reply.setInt(0, STRUCTURED_REPLY_MAGIC);
                    reply.setShort(4, REPLY_FLAG_DONE);
                    reply.setShort(6, REPLY_TYPE_OFFSET_DATA);
                    reply.setLong(8, request.cookie);
                    reply.setInt(16, 8 + request.length);
                    reply.setLong(20, request.offset);
                } else {
                    reply.setInt(0, SIMPLE_REPLY_MAGIC);
                    reply.setInt(4, 0);
                    reply.setLong(8, request.cookie);
                }
            } else {
                reply.clear();
                if (structured) {
                    writeStructuredError(reply, request.cookie, errno);
                } else {
                    writeSimpleReply(reply, request.cookie, errno);
                }
            }
            sendReply(reply);
        } else {
            sendSimpleReply(request.cookie, errno);
        }
        if (freeRequests.size() < MAX_IN_FLIGHT_REQUESTS) {
            freeRequests.push(request);
        }
        if (paused) {
            maybeResume();
        }
        if (discReceived) {
            closeIfDrained();
        }
    }

    private void sendSimpleReply(long cookie, int errno) {
        ByteBuf reply = ctx.alloc().directBuffer(SIMPLE_REPLY_BYTES);
        writeSimpleReply(reply, cookie, errno);
        sendReply(reply);
    }

    /** A structured reply that ends a READ or BLOCK_STATUS: NONE on success, else an ERROR chunk. */
    private void sendStructuredStatus(long cookie, int errno) {
        ByteBuf reply = ctx.alloc().directBuffer(STRUCTURED_ERROR_BYTES);
        if (errno == NbdErrors.OK) {
            reply.writeInt(STRUCTURED_REPLY_MAGIC).writeShort(REPLY_FLAG_DONE).writeShort(REPLY_TYPE_NONE)
                    .writeLong(cookie).writeInt(0);
        } else {
            writeStructuredError(reply, cookie, errno);
        }
        sendReply(reply);
    }

    private static void writeSimpleReply(ByteBuf reply, long cookie, int errno) {
        reply.writeInt(SIMPLE_REPLY_MAGIC).writeInt(errno).writeLong(cookie);
    }

    private static void writeStructuredError(ByteBuf reply, long cookie, int errno) {
        reply.writeInt(STRUCTURED_REPLY_MAGIC).writeShort(REPLY_FLAG_DONE).writeShort(REPLY_TYPE_ERROR)
                .writeLong(cookie).writeInt(6).writeInt(errno).writeShort(0);
    }

    private void sendReply(ByteBuf reply) {
        if (!ctx.channel().isActive()) {
            reply.release();
            return;
        }
        ctx.write(reply, ctx.voidPromise());
        if (inReadBatch) {
            flushPending = true;
        } else if (!flushScheduled) {
            flushScheduled = true;
            ctx.executor().execute(flushTask);
        }
    }

    private void runScheduledFlush() {
        flushScheduled = false;
        ctx.flush();
    }

    private void pause() {
        if (!paused) {
            paused = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void maybeResume() {
        if (!paused || stopped || inFlightRequests > MAX_IN_FLIGHT_REQUESTS / 2
                || inFlightBytes > maxInFlightBytes / 2 || !ctx.channel().isWritable()) {
            return;
        }
        paused = false;
        resumeReading();
    }

    /** Reads and decodes again unless still paused for another reason. */
    private void resumeReading() {
        if (paused || deviceSuspended || stopped) {
            return;
        }
        ctx.channel().config().setAutoRead(true);
        if (!decoding && internalBuffer().isReadable()) {
            // Requests already buffered while paused: decode them now, not on the next packet.
            try {
                channelRead(ctx, Unpooled.EMPTY_BUFFER);
            } catch (Exception e) {
                exceptionCaught(ctx, e);
            }
            channelReadComplete(ctx);
        }
    }

    private void closeIfDrained() {
        if (inFlightRequests == 0 && ctx.channel().isActive()) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private void dropConnection(ByteBuf in, String reason) {
        log.warn("closing NBD connection from {}: {}", ctx.channel().remoteAddress(), reason);
        stopped = true;
        in.skipBytes(in.readableBytes());
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    /** The device's hold on this connection's reading; event loop only. */
    private final class Flow implements BlockDevice.ConnectionFlow {
        @Override
        public void suspend() {
            deviceSuspended = true;
            ctx.channel().config().setAutoRead(false);
        }

        @Override
        public void resume() {
            deviceSuspended = false;
            resumeReading();
        }

        @Override
        public java.util.concurrent.Executor executor() {
            return ctx.executor();
        }
    }

    /** One outstanding device request; recycled by the event loop once its reply is written. */
    private final class Request implements IoCompletion, Runnable {
        int type;
        long cookie;
        long offset;
        int length;
        long bytes;
        ByteBuf readReply;
        int errno;

        @Override
        public void complete(int nbdErrno) {
            errno = nbdErrno;
            if (ctx.executor().inEventLoop()) {
                onComplete(this);
            } else {
                ctx.executor().execute(this);
            }
        }

        @Override
        public void run() {
            onComplete(this);
        }
    }

    /** Writes base:allocation extents into a reply buffer, clipped to the requested range. */
    private static final class ExtentWriter implements BlockDevice.ExtentSink {
        private ByteBuf reply;
        private long remainingBytes;
        private boolean onlyOne;
        private int count;

        void start(ByteBuf reply, long lengthBytes, boolean onlyOne) {
            this.reply = reply;
            this.remainingBytes = lengthBytes;
            this.onlyOne = onlyOne;
            this.count = 0;
        }

        @Override
        public void extent(long lengthBytes, int flags) {
            if (reply == null || lengthBytes <= 0 || remainingBytes == 0 || count >= MAX_EXTENTS
                    || (onlyOne && count == 1)) {
                return;
            }
            long take = Math.min(lengthBytes, remainingBytes);
            reply.writeInt((int) take).writeInt(flags & (STATE_HOLE | STATE_ZERO));
            remainingBytes -= take;
            count++;
        }

        int finish() {
            reply = null;
            return count;
        }
    }
}
