package io.ferry.nbd;

import static io.ferry.nbd.NbdProtocol.*;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fixed-newstyle NBD negotiation for one connection: sends the greeting, answers options until
 * the client picks an export with GO or EXPORT_NAME, then replaces itself in the pipeline with an
 * {@link NbdTransmissionHandler} (bytes already received for the transmission phase are handed
 * on). Owned by the connection's event loop.
 *
 * <p>Every option's data is consumed whole, also for unknown options; an option longer than
 * {@link #MAX_OPTION_BYTES}, a bad option magic, unknown client flags or a handshake that takes
 * longer than {@link #HANDSHAKE_TIMEOUT_MS} closes the connection.
 */
final class NbdHandshakeHandler extends ByteToMessageDecoder {

    static final int MAX_OPTION_BYTES = 64 * 1024;
    static final long HANDSHAKE_TIMEOUT_MS = 30_000;
    /** Context id of base:allocation when selected with SET_META_CONTEXT. */
    static final int BASE_ALLOCATION_CONTEXT_ID = 1;

    private static final Logger log = LoggerFactory.getLogger(NbdHandshakeHandler.class);
    private static final int OPTION_HEADER_BYTES = 16;
    private static final int KNOWN_CLIENT_FLAGS = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES;

    private enum State { CLIENT_FLAGS, OPTIONS, DONE }

    private final NbdExports exports;
    private final int maxPayloadBytes;

    private State state = State.CLIENT_FLAGS;
    private boolean noZeroes;
    private boolean structuredReplies;
    /** Export name base:allocation was selected for with SET_META_CONTEXT, or null. */
    private String metaContextExport;
    private ScheduledFuture<?> timeout;

    NbdHandshakeHandler(NbdExports exports, int maxPayloadBytes) {
        this.exports = exports;
        this.maxPayloadBytes = maxPayloadBytes;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ByteBuf greeting = ctx.alloc().buffer(18);
        greeting.writeLong(NBDMAGIC).writeLong(IHAVEOPT)
                .writeShort(HANDSHAKE_FLAG_FIXED_NEWSTYLE | HANDSHAKE_FLAG_NO_ZEROES);
        ctx.writeAndFlush(greeting, ctx.voidPromise());
        timeout = ctx.executor().schedule(() -> {
            log.warn("NBD client {} did not finish negotiation within {} ms, closing",
                    ctx.channel().remoteAddress(), HANDSHAKE_TIMEOUT_MS);
            ctx.close();
        }, HANDSHAKE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        super.channelActive(ctx);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        cancelTimeout();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelTimeout();
        super.channelInactive(ctx);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        ctx.flush();
        super.channelReadComplete(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("NBD negotiation with {} failed", ctx.channel().remoteAddress(), cause);
        ctx.close();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (state == State.CLIENT_FLAGS) {
            if (in.readableBytes() < 4) {
                return;
            }
            int clientFlags = in.readInt();
            if ((clientFlags & ~KNOWN_CLIENT_FLAGS) != 0) {
                abandon(ctx, in, "unknown client flags 0x" + Integer.toHexString(clientFlags));
                return;
            }
            noZeroes = (clientFlags & CLIENT_FLAG_NO_ZEROES) != 0;
            state = State.OPTIONS;
        }
        while (state == State.OPTIONS && in.readableBytes() >= OPTION_HEADER_BYTES) {
            int start = in.readerIndex();
            if (in.getLong(start) != IHAVEOPT) {
                abandon(ctx, in, "bad option magic");
                return;
            }
            int option = in.getInt(start + 8);
            long length = in.getUnsignedInt(start + 12);
            if (length > MAX_OPTION_BYTES) {
                abandon(ctx, in, "option " + option + " of " + length + " bytes exceeds the "
                        + MAX_OPTION_BYTES + "-byte limit");
                return;
            }
            if (in.readableBytes() < OPTION_HEADER_BYTES + length) {
                return;
            }
            in.skipBytes(OPTION_HEADER_BYTES);
            ByteBuf data = in.readSlice((int) length);
            onOption(ctx, option, data);
        }
    }

    private void onOption(ChannelHandlerContext ctx, int option, ByteBuf data) {
        switch (option) {
            case OPT_EXPORT_NAME -> onExportName(ctx, data);
            case OPT_ABORT -> {
                state = State.DONE;
                sendReply(ctx, option, REP_ACK, null);
                ctx.writeAndFlush(ctx.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
            }
            case OPT_LIST -> onList(ctx, data);
            case OPT_INFO, OPT_GO -> onInfoOrGo(ctx, option, data);
            case OPT_STRUCTURED_REPLY -> {
                if (data.isReadable()) {
                    sendError(ctx, option, REP_ERR_INVALID, "STRUCTURED_REPLY carries no data");
                } else {
                    structuredReplies = true;
                    sendReply(ctx, option, REP_ACK, null);
                }
            }
            case OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT -> onMetaContext(ctx, option, data);
            case OPT_STARTTLS -> sendError(ctx, option, REP_ERR_UNSUP, "TLS is not supported");
            default -> sendError(ctx, option, REP_ERR_UNSUP, "option " + option + " is not supported");
        }
    }

    private void onExportName(ChannelHandlerContext ctx, ByteBuf data) {
        String name = data.readableBytes() <= MAX_STRING_BYTES ? data.toString(StandardCharsets.UTF_8) : null;
        BlockDevice device = name == null ? null : lookup(name);
        if (device == null) {
            // EXPORT_NAME has no error reply: closing is the only answer.
            abandon(ctx, data, "EXPORT_NAME for unknown export");
            return;
        }
        int flags = transmissionFlags(device);
        ByteBuf reply = ctx.alloc().buffer(noZeroes ? 10 : 134);
        reply.writeLong(device.sizeBytes()).writeShort(flags);
        if (!noZeroes) {
            reply.writeZero(124);
        }
        ctx.write(reply, ctx.voidPromise());
        enterTransmission(ctx, name, device, flags);
    }

    private void onList(ChannelHandlerContext ctx, ByteBuf data) {
        if (data.isReadable()) {
            sendError(ctx, OPT_LIST, REP_ERR_INVALID, "LIST carries no data");
            return;
        }
        for (String name : exports.names()) {
            byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
            ByteBuf entry = ctx.alloc().buffer(4 + bytes.length);
            entry.writeInt(bytes.length).writeBytes(bytes);
            sendReply(ctx, OPT_LIST, REP_SERVER, entry);
        }
        sendReply(ctx, OPT_LIST, REP_ACK, null);
    }

    private void onInfoOrGo(ChannelHandlerContext ctx, int option, ByteBuf data) {
        int length = data.readableBytes();
        if (length < 6) {
            sendError(ctx, option, REP_ERR_INVALID, "option data shorter than 6 bytes");
            return;
        }
        long nameLength = data.readUnsignedInt();
        if (nameLength > length - 6 || nameLength > MAX_STRING_BYTES) {
            sendError(ctx, option, REP_ERR_INVALID, "export name length " + nameLength + " is invalid");
            return;
        }
        String name = data.readCharSequence((int) nameLength, StandardCharsets.UTF_8).toString();
        int requests = data.readUnsignedShort();
        if (data.readableBytes() != requests * 2) {
            sendError(ctx, option, REP_ERR_INVALID, "information request count does not match the length");
            return;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        boolean wantBlockSize = false;
        for (int i = 0; i < requests; i++) {
            switch (data.readUnsignedShort()) {
                case INFO_NAME -> wantName = true;
                case INFO_DESCRIPTION -> wantDescription = true;
                case INFO_BLOCK_SIZE -> wantBlockSize = true;
                default -> { } // EXPORT is always sent; unknown requests are ignored
            }
        }
        BlockDevice device = lookup(name);
        if (device == null) {
            sendError(ctx, option, REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return;
        }
        int flags = transmissionFlags(device);
        ByteBuf export = ctx.alloc().buffer(12);
        export.writeShort(INFO_EXPORT).writeLong(device.sizeBytes()).writeShort(flags);
        sendReply(ctx, option, REP_INFO, export);
        if (wantName) {
            byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
            ByteBuf info = ctx.alloc().buffer(2 + bytes.length);
            info.writeShort(INFO_NAME).writeBytes(bytes);
            sendReply(ctx, option, REP_INFO, info);
        }
        if (wantDescription) {
            byte[] bytes = ("ferry export " + name).getBytes(StandardCharsets.UTF_8);
            ByteBuf info = ctx.alloc().buffer(2 + bytes.length);
            info.writeShort(INFO_DESCRIPTION).writeBytes(bytes);
            sendReply(ctx, option, REP_INFO, info);
        }
        if (wantBlockSize) {
            ByteBuf info = ctx.alloc().buffer(14);
            info.writeShort(INFO_BLOCK_SIZE).writeInt(MIN_BLOCK_BYTES).writeInt(PREFERRED_BLOCK_BYTES)
                    .writeInt(maxPayloadBytes);
            sendReply(ctx, option, REP_INFO, info);
        }
        sendReply(ctx, option, REP_ACK, null);
        if (option == OPT_GO) {
            enterTransmission(ctx, name, device, flags);
        }
    }

    private void onMetaContext(ChannelHandlerContext ctx, int option, ByteBuf data) {
        if (!structuredReplies) {
            sendError(ctx, option, REP_ERR_INVALID, "negotiate STRUCTURED_REPLY before meta contexts");
            return;
        }
        String exportName = readString(data);
        if (exportName == null || data.readableBytes() < 4) {
            sendError(ctx, option, REP_ERR_INVALID, "malformed meta context request");
            return;
        }
        long queryCount = data.readUnsignedInt();
        List<String> queries = new ArrayList<>();
        for (long i = 0; i < queryCount; i++) {
            String query = readString(data);
            if (query == null) {
                sendError(ctx, option, REP_ERR_INVALID, "malformed meta context query");
                return;
            }
            queries.add(query);
        }
        if (data.isReadable()) {
            sendError(ctx, option, REP_ERR_INVALID, "trailing bytes after meta context queries");
            return;
        }
        if (lookup(exportName) == null) {
            sendError(ctx, option, REP_ERR_UNKNOWN, "no export named '" + exportName + "'");
            return;
        }
        boolean selected;
        if (option == OPT_LIST_META_CONTEXT) {
            selected = queries.isEmpty() || queries.contains("base:") || queries.contains(META_CONTEXT_BASE_ALLOCATION);
        } else {
            selected = queries.contains(META_CONTEXT_BASE_ALLOCATION);
            metaContextExport = selected ? exportName : null;
        }
        if (selected) {
            byte[] bytes = META_CONTEXT_BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
            ByteBuf context = ctx.alloc().buffer(4 + bytes.length);
            context.writeInt(option == OPT_SET_META_CONTEXT ? BASE_ALLOCATION_CONTEXT_ID : 0).writeBytes(bytes);
            sendReply(ctx, option, REP_META_CONTEXT, context);
        }
        sendReply(ctx, option, REP_ACK, null);
    }

    /** A u32-length-prefixed string, or null when it does not fit in {@code data}. */
    private static String readString(ByteBuf data) {
        if (data.readableBytes() < 4) {
            return null;
        }
        long length = data.readUnsignedInt();
        if (length > data.readableBytes() || length > MAX_STRING_BYTES) {
            return null;
        }
        return data.readCharSequence((int) length, StandardCharsets.UTF_8).toString();
    }

    /** The device for {@code name}; the empty (default) name picks the only export if there is one. */
    private BlockDevice lookup(String name) {
        BlockDevice device = exports.find(name);
        if (device == null && name.isEmpty()) {
            Collection<String> names = exports.names();
            if (names.size() == 1) {
                device = exports.find(names.iterator().next());
            }
        }
        return device;
    }

    private int transmissionFlags(BlockDevice device) {
        int flags = FLAG_HAS_FLAGS | FLAG_SEND_FLUSH | FLAG_SEND_FUA | FLAG_SEND_TRIM
                | FLAG_SEND_WRITE_ZEROES | FLAG_SEND_CACHE | FLAG_SEND_FAST_ZERO;
        if (structuredReplies) {
            flags |= FLAG_SEND_DF;
        }
        if (device.isReadOnly()) {
            flags |= FLAG_READ_ONLY;
        }
        if (device.flushCoversAllConnections()) {
            flags |= FLAG_CAN_MULTI_CONN;
        }
        return flags;
    }

    private void enterTransmission(ChannelHandlerContext ctx, String name, BlockDevice device, int flags) {
        state = State.DONE;
        cancelTimeout();
        boolean blockStatus = structuredReplies && name.equals(metaContextExport);
        ctx.flush();
        ctx.pipeline().replace(this, NbdTransmissionHandler.NAME, new NbdTransmissionHandler(
                device, structuredReplies, blockStatus ? BASE_ALLOCATION_CONTEXT_ID : -1, maxPayloadBytes));
        log.debug("NBD client {} negotiated export '{}' (flags 0x{})", ctx.channel().remoteAddress(), name,
                Integer.toHexString(flags));
    }

    private void sendError(ChannelHandlerContext ctx, int option, int type, String message) {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        sendReply(ctx, option, type, ctx.alloc().buffer(bytes.length).writeBytes(bytes));
    }

    /** Writes one option reply; takes ownership of {@code data} (may be null for none). */
    private static void sendReply(ChannelHandlerContext ctx, int option, int type, ByteBuf data) {
        int length = data == null ? 0 : data.readableBytes();
        ByteBuf header = ctx.alloc().buffer(20 + length);
        header.writeLong(OPTION_REPLY_MAGIC).writeInt(option).writeInt(type).writeInt(length);
        if (data != null) {
            header.writeBytes(data);
            data.release();
        }
        ctx.write(header, ctx.voidPromise());
    }

    private void abandon(ChannelHandlerContext ctx, ByteBuf in, String reason) {
        log.warn("closing NBD connection from {} during negotiation: {}", ctx.channel().remoteAddress(), reason);
        state = State.DONE;
        in.skipBytes(in.readableBytes());
        ctx.writeAndFlush(ctx.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
    }

    private void cancelTimeout() {
        if (timeout != null) {
            timeout.cancel(false);
            timeout = null;
        }
    }
}
