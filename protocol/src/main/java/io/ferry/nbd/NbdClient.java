package io.ferry.nbd;

import static io.ferry.nbd.NbdProtocol.*;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A blocking NBD client over one connection (TCP or Unix socket): negotiates fixed newstyle with
 * structured replies and GO (falling back to EXPORT_NAME), then issues one command at a time.
 * Methods are synchronized, so one client may be shared, but requests are not pipelined.
 * {@link #close} sends DISC and closes the socket.
 */
public final class NbdClient implements AutoCloseable {

    private static final int MAX_OPTION_REPLY_BYTES = 64 * 1024;

    private final SocketChannel channel;
    private final String exportName;
    private final ByteBuffer header = ByteBuffer.allocate(REQUEST_HEADER_BYTES);
    private long sizeBytes;
    private int transmissionFlags;
    private int maxBlockBytes;
    private boolean structured;
    private boolean noZeroes;
    private long nextCookie = 1;
    private boolean closed;

    private NbdClient(SocketChannel channel, String exportName) {
        this.channel = channel;
        this.exportName = exportName;
    }

    /** Connects over TCP and negotiates {@code export}; throws {@link NbdException} if refused. */
    public static NbdClient connect(InetSocketAddress address, String export) throws IOException {
        SocketChannel channel = SocketChannel.open();
        try {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.connect(address);
            return negotiate(channel, export);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** Connects over a Unix domain socket and negotiates {@code export}. */
    public static NbdClient connectUnix(Path socket, String export) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
            return negotiate(channel, export);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static NbdClient negotiate(SocketChannel channel, String export) throws IOException {
        NbdClient client = new NbdClient(channel, export);
        client.handshake();
        return client;
    }

    public long size() {
        return sizeBytes;
    }

    public int transmissionFlags() {
        return transmissionFlags;
    }

    /** True when the server agreed to structured replies. */
    public boolean structuredReplies() {
        return structured;
    }

    /** The server's maximum block size from NBD_INFO_BLOCK_SIZE, or 0 when it sent none. */
    public int maxBlockBytes() {
        return maxBlockBytes;
    }

    public String exportName() {
        return exportName;
    }

    public synchronized byte[] read(long offset, int length) throws IOException {
        byte[] data = new byte[length];
        long cookie = sendRequest(0, CMD_READ, offset, length, null);
        readReply(cookie, offset, data);
        return data;
    }

    /** Writes {@code data} at {@code offset}; with {@code fua}, returns once it is durable. */
    public synchronized void write(long offset, byte[] data, boolean fua) throws IOException {
        long cookie = sendRequest(fua ? CMD_FLAG_FUA : 0, CMD_WRITE, offset, data.length, data);
        readReply(cookie, offset, null);
    }

    public synchronized void writeZeroes(long offset, long length, boolean fua) throws IOException {
        long cookie = sendRequest(fua ? CMD_FLAG_FUA : 0, CMD_WRITE_ZEROES, offset, length, null);
        readReply(cookie, offset, null);
    }

    public synchronized void trim(long offset, long length) throws IOException {
        long cookie = sendRequest(0, CMD_TRIM, offset, length, null);
        readReply(cookie, offset, null);
    }

    /** Returns once every write completed before it is on stable storage. */
    public synchronized void flush() throws IOException {
        long cookie = sendRequest(0, CMD_FLUSH, 0, 0, null);
        readReply(cookie, 0, null);
    }

    /** Sends DISC (the server finishes outstanding requests, then closes) and closes the socket. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (channel.isOpen()) {
                sendRequest(0, CMD_DISC, 0, 0, null);
            }
        } finally {
            channel.close();
        }
    }

    // ---- negotiation

    private void handshake() throws IOException {
        ByteBuffer greeting = readFully(18);
        if (greeting.getLong() != NBDMAGIC || greeting.getLong() != IHAVEOPT) {
            throw new NbdException("not an NBD newstyle server (bad greeting magic)", 0);
        }
        int serverFlags = greeting.getShort() & 0xFFFF;
        if ((serverFlags & HANDSHAKE_FLAG_FIXED_NEWSTYLE) == 0) {
            throw new NbdException("NBD server does not support fixed newstyle negotiation", 0);
        }
        noZeroes = (serverFlags & HANDSHAKE_FLAG_NO_ZEROES) != 0;
        writeFully(ByteBuffer.allocate(4).putInt(CLIENT_FLAG_FIXED_NEWSTYLE | (noZeroes ? CLIENT_FLAG_NO_ZEROES : 0)).flip());

        sendOption(OPT_STRUCTURED_REPLY, new byte[0]);
        OptionReply structuredReply = readOptionReply(OPT_STRUCTURED_REPLY);
        structured = structuredReply.type == REP_ACK;

        byte[] name = exportName.getBytes(StandardCharsets.UTF_8);
        ByteBuffer go = ByteBuffer.allocate(4 + name.length + 2 + 2);
        go.putInt(name.length).put(name).putShort((short) 1).putShort((short) INFO_BLOCK_SIZE);
        sendOption(OPT_GO, go.array());
        boolean gotExport = false;
        while (true) {
            OptionReply reply = readOptionReply(OPT_GO);
            if (reply.type == REP_ACK) {
                break;
            }
            if (reply.type == REP_INFO && reply.data.length >= 2) {
                ByteBuffer info = ByteBuffer.wrap(reply.data);
                int infoType = info.getShort() & 0xFFFF;
                if (infoType == INFO_EXPORT && reply.data.length == 12) {
                    sizeBytes = info.getLong();
                    transmissionFlags = info.getShort() & 0xFFFF;
                    gotExport = true;
                } else if (infoType == INFO_BLOCK_SIZE && reply.data.length == 14) {
                    info.getInt();
                    info.getInt();
                    maxBlockBytes = info.getInt();
                }
            } else if (reply.type == REP_ERR_UNSUP) {
                exportNameFallback(name);
                return;
            } else if (reply.type < 0) {
                throw new NbdException("NBD server refused export '" + exportName + "': "
                        + replyName(reply.type) + messageOf(reply), 0);
            }
        }
        if (!gotExport) {
            throw new NbdException("NBD server acknowledged GO without NBD_INFO_EXPORT", 0);
        }
    }

    private void exportNameFallback(byte[] name) throws IOException {
        sendOption(OPT_EXPORT_NAME, name);
        ByteBuffer reply;
        try {
            reply = readFully(noZeroes ? 10 : 134);
        } catch (EOFException e) {
            throw new NbdException("NBD server closed the connection: no export named '" + exportName + "'", 0);
        }
        sizeBytes = reply.getLong();
        transmissionFlags = reply.getShort() & 0xFFFF;
    }

    private void sendOption(int option, byte[] data) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(16 + data.length);
        buffer.putLong(IHAVEOPT).putInt(option).putInt(data.length).put(data).flip();
        writeFully(buffer);
    }

    private record OptionReply(int type, byte[] data) {
    }

    private OptionReply readOptionReply(int option) throws IOException {
        ByteBuffer head = readFully(20);
        if (head.getLong() != OPTION_REPLY_MAGIC) {
            throw new NbdException("bad option reply magic from NBD server", 0);
        }
        int repliedOption = head.getInt();
        int type = head.getInt();
        long length = head.getInt() & 0xFFFFFFFFL;
        if (repliedOption != option || length > MAX_OPTION_REPLY_BYTES) {
            throw new NbdException("malformed option reply (option " + repliedOption + ", " + length + " bytes)", 0);
        }
        ByteBuffer data = readFully((int) length);
        return new OptionReply(type, data.array());
    }

    private static String messageOf(OptionReply reply) {
        return reply.data.length == 0 ? "" : " (" + new String(reply.data, StandardCharsets.UTF_8) + ")";
    }

    private static String replyName(int type) {
        return switch (type) {
            case REP_ERR_UNSUP -> "unsupported";
            case REP_ERR_POLICY -> "forbidden by policy";
            case REP_ERR_INVALID -> "invalid";
            case REP_ERR_UNKNOWN -> "unknown export";
            case REP_ERR_TLS_REQD -> "TLS required";
            case REP_ERR_SHUTDOWN -> "server shutting down";
            default -> "error 0x" + Integer.toHexString(type);
        };
    }

    // ---- transmission

    private long sendRequest(int flags, int type, long offset, long length, byte[] payload) throws IOException {
        if (closed && type != CMD_DISC) {
            throw new IOException("NBD client for '" + exportName + "' is closed");
        }
        long cookie = nextCookie++;
        header.clear();
        header.putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie)
                .putLong(offset).putInt((int) length).flip();
        if (payload == null) {
            writeFully(header);
        } else {
            ByteBuffer[] buffers = {header, ByteBuffer.wrap(payload)};
            long total = header.remaining() + (long) payload.length;
            long written = 0;
            while (written < total) {
                written += channel.write(buffers);
            }
        }
        return cookie;
    }

    /** Reads the reply to {@code cookie}; READ data lands in {@code data}; an error reply throws. */
    private void readReply(long cookie, long requestOffset, byte[] data) throws IOException {
        ByteBuffer magic = readFully(4);
        int replyMagic = magic.getInt();
        if (replyMagic == SIMPLE_REPLY_MAGIC) {
            ByteBuffer rest = readFully(12);
            int errno = rest.getInt();
            checkCookie(cookie, rest.getLong());
            if (errno != 0) {
                throw new NbdException("NBD request failed with " + errnoName(errno), errno);
            }
            if (data != null) {
                readInto(data, 0, data.length);
            }
            return;
        }
        if (replyMagic != STRUCTURED_REPLY_MAGIC || !structured) {
            throw new NbdException("bad reply magic 0x" + Integer.toHexString(replyMagic) + " from NBD server", 0);
        }
        int errno = 0;
        String message = "";
        boolean done = false;
        while (!done) {
            ByteBuffer chunk = readFully(16);
            int chunkFlags = chunk.getShort() & 0xFFFF;
            int chunkType = chunk.getShort() & 0xFFFF;
            checkCookie(cookie, chunk.getLong());
            long length = chunk.getInt() & 0xFFFFFFFFL;
            done = (chunkFlags & REPLY_FLAG_DONE) != 0;
            switch (chunkType) {
                case REPLY_TYPE_NONE -> { }
                case REPLY_TYPE_OFFSET_DATA -> {
                    long chunkOffset = readFully(8).getLong();
                    long dataBytes = length - 8;
                    long at = chunkOffset - requestOffset;
                    if (data == null || at < 0 || dataBytes < 0 || at + dataBytes > data.length) {
                        throw new NbdException("OFFSET_DATA chunk outside the requested range", 0);
                    }
                    readInto(data, (int) at, (int) dataBytes);
                }
                case REPLY_TYPE_OFFSET_HOLE -> {
                    ByteBuffer hole = readFully(12);
                    long at = hole.getLong() - requestOffset;
                    long holeBytes = hole.getInt() & 0xFFFFFFFFL;
                    if (data == null || at < 0 || at + holeBytes > data.length) {
                        throw new NbdException("OFFSET_HOLE chunk outside the requested range", 0);
                    }
                    Arrays.fill(data, (int) at, (int) (at + holeBytes), (byte) 0);
                }
                case REPLY_TYPE_ERROR, REPLY_TYPE_ERROR_OFFSET -> {
                    if (length < 6 || length > MAX_OPTION_REPLY_BYTES) {
                        throw new NbdException("malformed error chunk from NBD server", 0);
                    }
                    ByteBuffer error = readFully((int) length);
                    errno = error.getInt();
                    int messageLength = error.getShort() & 0xFFFF;
                    if (messageLength > 0 && messageLength <= error.remaining()) {
                        message = ": " + new String(error.array(), 6, messageLength, StandardCharsets.UTF_8);
                    }
                }
                default -> skip(length);
            }
        }
        if (errno != 0) {
            throw new NbdException("NBD request failed with " + errnoName(errno) + message, errno);
        }
    }

    private static void checkCookie(long expected, long actual) throws NbdException {
        if (expected != actual) {
            throw new NbdException("NBD reply for cookie " + actual + " while waiting for " + expected, 0);
        }
    }

    static String errnoName(int errno) {
        return switch (errno) {
            case NbdErrors.EPERM -> "EPERM";
            case NbdErrors.EIO -> "EIO";
            case NbdErrors.ENOMEM -> "ENOMEM";
            case NbdErrors.EINVAL -> "EINVAL";
            case NbdErrors.ENOSPC -> "ENOSPC";
            case NbdErrors.EOVERFLOW -> "EOVERFLOW";
            case NbdErrors.ENOTSUP -> "ENOTSUP";
            case NbdErrors.ESHUTDOWN -> "ESHUTDOWN";
            default -> "errno " + errno;
        };
    }

    // ---- socket helpers

    private ByteBuffer readFully(int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new EOFException("NBD server closed the connection");
            }
        }
        return buffer.flip();
    }

    private void readInto(byte[] data, int at, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(data, at, length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new EOFException("NBD server closed the connection mid-reply");
            }
        }
    }

    private void skip(long length) throws IOException {
        ByteBuffer scratch = ByteBuffer.allocate(8192);
        long left = length;
        while (left > 0) {
            scratch.clear().limit((int) Math.min(left, scratch.capacity()));
            int n = channel.read(scratch);
            if (n < 0) {
                throw new EOFException("NBD server closed the connection mid-reply");
            }
            left -= n;
        }
    }

    private void writeFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
