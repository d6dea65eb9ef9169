package io.ferry.nbd;

import static io.ferry.nbd.NbdProtocol.*;
import static io.ferry.nbd.NbdWire.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.nbd.NbdWire.Reply;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NbdTransmissionHandlerTest {

    private static final int SIZE = 1 << 20;
    private static final int MAX_PAYLOAD = 64 * 1024;

    private final NbdExportRegistry exports = new NbdExportRegistry();
    private final MemoryBlockDevice device = new MemoryBlockDevice(SIZE);
    private EmbeddedNbd nbd;
    private DataInputStream in;

    @AfterEach
    void close() {
        if (nbd != null) {
            nbd.close();
        }
    }

    /** Negotiates export "disk" (or "ro" for a read-only device) with GO. */
    private void connect(boolean structured, boolean blockStatus, BlockDevice dev) throws IOException {
        exports.put("disk", dev);
        nbd = new EmbeddedNbd(exports, MAX_PAYLOAD);
        in = nbd.in();
        readGreeting(in);
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES));
        if (structured) {
            nbd.send(option(OPT_STRUCTURED_REPLY, new byte[0]));
            assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        }
        if (blockStatus) {
            nbd.send(option(OPT_SET_META_CONTEXT, metaContextData("disk", META_CONTEXT_BASE_ALLOCATION)));
            assertThat(readOptionReply(in).type()).isEqualTo(REP_META_CONTEXT);
            assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        }
        nbd.send(option(OPT_GO, goData("disk")));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_INFO);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
    }

    private void connect() throws IOException {
        connect(false, false, device);
    }

    private Reply reply() throws IOException {
        return readReply(in);
    }

    private void expectSimple(long cookie, int errno) throws IOException {
        Reply reply = reply();
        assertThat(reply.structured()).isFalse();
        assertThat(reply.cookie()).isEqualTo(cookie);
        assertThat(reply.errno()).isEqualTo(errno);
    }

    @Test
    void writeThenReadReturnsTheDataWithSimpleReplies() throws IOException {
        connect();
        byte[] data = filled(4096, 0xab);
        nbd.send(NbdWire.write(0, 1, 8192, data), request(0, CMD_READ, 2, 8192, 4096));
        expectSimple(1, 0);
        expectSimple(2, 0);
        byte[] read = new byte[4096];
        in.readFully(read);
        assertThat(read).isEqualTo(data);
        assertThat(device.calls()).containsExactly("write 8192+4096", "read 8192+4096");
    }

    @Test
    void requestsArrivingWithTheGoOptionAreHandedToTransmission() throws IOException {
        exports.put("disk", device);
        nbd = new EmbeddedNbd(exports, MAX_PAYLOAD);
        in = nbd.in();
        readGreeting(in);
        nbd.send(clientFlags(CLIENT_FLAG_FIXED_NEWSTYLE), option(OPT_GO, goData("disk")),
                NbdWire.write(0, 1, 0, filled(100, 4)), request(0, CMD_FLUSH, 2, 0, 0));
        assertThat(readOptionReply(in).type()).isEqualTo(REP_INFO);
        assertThat(readOptionReply(in).type()).isEqualTo(REP_ACK);
        expectSimple(1, 0);
        expectSimple(2, 0);
        assertThat(device.calls()).containsExactly("write 0+100", "flush");
    }

    @Test
    void cookieIsEchoedUntouched() throws IOException {
        connect();
        long cookie = 0xFEDCBA9876543210L;
        nbd.send(request(0, CMD_FLUSH, cookie, 0, 0));
        expectSimple(cookie, 0);
    }

    @Test
    void fuaIsPassedToTheDeviceForWritesZeroesAndTrims() throws IOException {
        connect();
        nbd.send(NbdWire.write(CMD_FLAG_FUA, 1, 0, filled(512, 1)),
                request(CMD_FLAG_FUA, CMD_WRITE_ZEROES, 2, 4096, 4096),
                request(CMD_FLAG_FUA, CMD_TRIM, 3, 8192, 4096),
                request(CMD_FLAG_FUA, CMD_FLUSH, 4, 0, 0));
        for (int cookie = 1; cookie <= 4; cookie++) {
            expectSimple(cookie, 0);
        }
        assertThat(device.calls()).containsExactly("write 0+512 fua", "zero 4096+4096 fua", "trim 8192+4096 fua", "flush");
    }

    @Test
    void writeZeroesReadsBackAsZeroes() throws IOException {
        connect();
        device.fill(0, 8192, (byte) 7);
        nbd.send(request(CMD_FLAG_NO_HOLE, CMD_WRITE_ZEROES, 1, 1024, 4096));
        expectSimple(1, 0);
        assertThat(device.contents(1024, 4096)).containsOnly(0);
        assertThat(device.contents(0, 1024)).containsOnly(7);
    }

    @Test
    void fastZeroIsRefusedWithEnotsupWhenTheDeviceCannotZeroFast() throws IOException {
        connect();
        nbd.send(request(CMD_FLAG_FAST_ZERO, CMD_WRITE_ZEROES, 1, 0, 4096));
        expectSimple(1, NbdErrors.ENOTSUP);
        assertThat(device.calls()).isEmpty();
    }

    @Test
    void hugeTrimAndZeroLengthsAreRangeCheckedWithoutAllocating() throws IOException {
        connect();
        nbd.send(request(0, CMD_TRIM, 1, 0, 0xFFFF_F000L), request(0, CMD_WRITE_ZEROES, 2, 0, 0xFFFF_F000L));
        expectSimple(1, NbdErrors.EINVAL);
        expectSimple(2, NbdErrors.ENOSPC);
    }

    @Test
    void cacheRepliesOk() throws IOException {
        connect();
        nbd.send(request(0, CMD_CACHE, 9, 0, 4096));
        expectSimple(9, 0);
    }

    @Test
    void requestsPastTheEndAreRefusedWithTheRightErrno() throws IOException {
        connect();
        nbd.send(request(0, CMD_READ, 1, SIZE - 100, 200),
                NbdWire.write(0, 2, SIZE - 100, filled(200, 1)),
                request(0, CMD_TRIM, 3, SIZE, 1),
                request(0, CMD_WRITE_ZEROES, 4, SIZE - 1, 2),
                request(0, CMD_READ, 5, -4096, 4096),
                request(0, CMD_READ, 6, SIZE, 0));
        expectSimple(1, NbdErrors.EINVAL);
        expectSimple(2, NbdErrors.ENOSPC);
        expectSimple(3, NbdErrors.EINVAL);
        expectSimple(4, NbdErrors.ENOSPC);
        expectSimple(5, NbdErrors.EINVAL);
        expectSimple(6, 0);
        assertThat(device.calls()).isEmpty();
        assertThat(nbd.channel.isActive()).isTrue();
    }

    @Test
    void zeroLengthRequestsSucceedWithoutTouchingTheDevice() throws IOException {
        connect();
        nbd.send(request(0, CMD_READ, 1, 0, 0), NbdWire.write(0, 2, 0, new byte[0]),
                request(0, CMD_TRIM, 3, 0, 0), request(0, CMD_WRITE_ZEROES, 4, 0, 0));
        for (int cookie = 1; cookie <= 4; cookie++) {
            expectSimple(cookie, 0);
        }
        assertThat(device.calls()).isEmpty();
        assertThat(nbd.channel.isActive()).isTrue();
    }

    @Test
    void unknownCommandAndUnknownFlagAnswerEinvalAndKeepTheConnection() throws IOException {
        connect();
        nbd.send(request(0, 99, 1, 0, 0), request(0x40, CMD_READ, 2, 0, 512),
                NbdWire.write(CMD_FLAG_DF, 3, 0, filled(16, 1)), request(0, CMD_FLUSH, 4, 0, 0));
        expectSimple(1, NbdErrors.EINVAL);
        expectSimple(2, NbdErrors.EINVAL);
        expectSimple(3, NbdErrors.EINVAL);
        expectSimple(4, 0);
        assertThat(device.calls()).containsExactly("flush");
    }

    @Test
    void writesToAReadOnlyExportAnswerEperm() throws IOException {
        connect(false, false, new MemoryBlockDevice(SIZE, true, false));
        nbd.send(NbdWire.write(0, 1, 0, filled(512, 1)), request(0, CMD_WRITE_ZEROES, 2, 0, 512),
                request(0, CMD_TRIM, 3, 0, 512), request(0, CMD_READ, 4, 0, 4));
        expectSimple(1, NbdErrors.EPERM);
        expectSimple(2, NbdErrors.EPERM);
        expectSimple(3, NbdErrors.EPERM);
        expectSimple(4, 0);
    }

    @Test
    void deviceErrorIsReturnedAsItsErrnoAndTheConnectionStaysUp() throws IOException {
        connect();
        device.failNext(NbdErrors.EIO);
        nbd.send(NbdWire.write(0, 1, 0, filled(512, 1)));
        expectSimple(1, NbdErrors.EIO);
        device.failNext(NbdErrors.ENOSPC);
        nbd.send(request(0, CMD_READ, 2, 0, 512));
        expectSimple(2, NbdErrors.ENOSPC);
        assertThat(nbd.nothingMoreWritten()).isTrue();
        nbd.send(request(0, CMD_READ, 3, 0, 512));
        expectSimple(3, 0);
        in.readFully(new byte[512]);
    }

    @Test
    void structuredReadIsOneOffsetDataChunkWithDone() throws IOException {
        connect(true, false, device);
        device.fill(4096, 4096, (byte) 0x5a);
        nbd.send(request(CMD_FLAG_DF, CMD_READ, 7, 4096, 4096));
        Reply reply = reply();
        assertThat(reply.structured()).isTrue();
        assertThat(reply.cookie()).isEqualTo(7);
        assertThat(reply.flags()).isEqualTo(REPLY_FLAG_DONE);
        assertThat(reply.type()).isEqualTo(REPLY_TYPE_OFFSET_DATA);
        ByteBuffer payload = reply.buffer();
        assertThat(payload.getLong()).isEqualTo(4096);
        byte[] data = new byte[payload.remaining()];
        payload.get(data);
        assertThat(data).hasSize(4096).containsOnly(0x5a);
    }

    @Test
    void structuredReadErrorIsAnErrorChunk() throws IOException {
        connect(true, false, device);
        device.failNext(NbdErrors.EIO);
        nbd.send(request(0, CMD_READ, 1, 0, 512), request(0, CMD_READ, 2, SIZE, 512), request(0, CMD_READ, 3, 0, 0));
        Reply failed = reply();
        assertThat(failed.type()).isEqualTo(REPLY_TYPE_ERROR);
        assertThat(failed.flags()).isEqualTo(REPLY_FLAG_DONE);
        assertThat(failed.errno()).isEqualTo(NbdErrors.EIO);
        Reply outOfRange = reply();
        assertThat(outOfRange.type()).isEqualTo(REPLY_TYPE_ERROR);
        assertThat(outOfRange.errno()).isEqualTo(NbdErrors.EINVAL);
        Reply empty = reply();
        assertThat(empty.type()).isEqualTo(REPLY_TYPE_NONE);
        assertThat(empty.flags()).isEqualTo(REPLY_FLAG_DONE);
    }

    @Test
    void blockStatusReportsExtentsOfBaseAllocation() throws IOException {
        connect(true, true, device);
        device.fill(8192, 4096, (byte) 1);
        nbd.send(request(0, CMD_BLOCK_STATUS, 5, 0, 16384));
        Reply reply = reply();
        assertThat(reply.type()).isEqualTo(REPLY_TYPE_BLOCK_STATUS);
        assertThat(reply.flags()).isEqualTo(REPLY_FLAG_DONE);
        ByteBuffer payload = reply.buffer();
        assertThat(payload.getInt()).isEqualTo(NbdHandshakeHandler.BASE_ALLOCATION_CONTEXT_ID);
        List<long[]> extents = new ArrayList<>();
        while (payload.hasRemaining()) {
            extents.add(new long[] {payload.getInt() & 0xFFFFFFFFL, payload.getInt()});
        }
        assertThat(extents).containsExactly(new long[] {8192, STATE_HOLE | STATE_ZERO}, new long[] {4096, 0},
                new long[] {4096, STATE_HOLE | STATE_ZERO});
    }

    @Test
    void blockStatusWithReqOneSendsOneExtentWithinTheRequest() throws IOException {
        connect(true, true, device);
        device.fill(8192, 4096, (byte) 1);
        nbd.send(request(CMD_FLAG_REQ_ONE, CMD_BLOCK_STATUS, 5, 1000, 16384));
        ByteBuffer payload = reply().buffer();
        payload.getInt();
        assertThat(payload.getInt()).isEqualTo(8192 - 1000);
        assertThat(payload.getInt()).isEqualTo(STATE_HOLE | STATE_ZERO);
        assertThat(payload.hasRemaining()).isFalse();
    }

    @Test
    void blockStatusWithoutNegotiatedContextIsEinval() throws IOException {
        connect(true, false, device);
        nbd.send(request(0, CMD_BLOCK_STATUS, 5, 0, 4096));
        Reply reply = reply();
        assertThat(reply.type()).isEqualTo(REPLY_TYPE_ERROR);
        assertThat(reply.errno()).isEqualTo(NbdErrors.EINVAL);
    }

    @Test
    void repliesGoOutInCompletionOrderWhileLaterRequestsAreStillDecoded() throws IOException {
        connect();
        device.hold();
        nbd.send(request(0, CMD_READ, 1, 0, 512), NbdWire.write(0, 2, 512, filled(512, 3)), request(0, CMD_FLUSH, 3, 0, 0));
        assertThat(device.heldCount()).isEqualTo(3);
        assertThat(nbd.nothingMoreWritten()).isTrue();
        device.releaseNewestFirst();
        expectSimple(3, 0);
        expectSimple(2, 0);
        expectSimple(1, 0);
        in.readFully(new byte[512]);
    }

    @Test
    void discWaitsForOutstandingRequestsThenClosesWithoutReply() throws IOException {
        connect();
        device.hold();
        nbd.send(NbdWire.write(0, 1, 0, filled(512, 3)), request(0, CMD_DISC, 2, 0, 0), request(0, CMD_FLUSH, 3, 0, 0));
        nbd.channel.runPendingTasks();
        assertThat(nbd.channel.isOpen()).isTrue();
        device.releaseAll();
        expectSimple(1, 0);
        assertThat(nbd.nothingMoreWritten()).isTrue();
        nbd.channel.runPendingTasks();
        assertThat(nbd.channel.isOpen()).isFalse();
        assertThat(device.calls()).containsExactly("write 0+512");
    }

    @Test
    void garbageMagicClosesTheConnection() {
        try {
            connect();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        nbd.send(filled(28, 0x77));
        nbd.channel.runPendingTasks();
        assertThat(nbd.channel.isOpen()).isFalse();
        assertThat(device.calls()).isEmpty();
    }

    @Test
    void oversizedWriteIsAnsweredEinvalAndTheConnectionClosed() throws IOException {
        connect();
        nbd.send(request(0, CMD_WRITE, 1, 0, MAX_PAYLOAD + 1));
        expectSimple(1, NbdErrors.EINVAL);
        nbd.channel.runPendingTasks();
        assertThat(nbd.channel.isOpen()).isFalse();
        assertThat(device.calls()).isEmpty();
    }

    @Test
    void oversizedReadIsAnsweredEinvalAndTheConnectionStays() throws IOException {
        connect();
        nbd.send(request(0, CMD_READ, 1, 0, MAX_PAYLOAD + 1));
        expectSimple(1, NbdErrors.EINVAL);
        assertThat(nbd.channel.isActive()).isTrue();
    }

    @Test
    void requestsSplitAtEveryByteAreDecodedWhole() throws IOException {
        connect();
        nbd.sendBytewise(concat(NbdWire.write(CMD_FLAG_FUA, 1, 100, filled(300, 9)), request(0, CMD_READ, 2, 100, 300)));
        expectSimple(1, 0);
        expectSimple(2, 0);
        byte[] data = new byte[300];
        in.readFully(data);
        assertThat(data).containsOnly(9);
        assertThat(device.calls()).containsExactly("write 100+300 fua", "read 100+300");
    }

    @Test
    void clientVanishingMidPayloadNeverReachesTheDevice() throws IOException {
        connect();
        byte[] write = NbdWire.write(0, 1, 0, filled(4096, 1));
        nbd.send(java.util.Arrays.copyOf(write, write.length - 1));
        nbd.channel.close();
        nbd.channel.runPendingTasks();
        assertThat(device.calls()).isEmpty();
    }

    @Test
    void pipelinedRequestsBeyondTheInFlightLimitAreAllAnswered() throws IOException {
        connect();
        device.hold();
        int count = NbdTransmissionHandler.MAX_IN_FLIGHT_REQUESTS + 100;
        byte[][] requests = new byte[count][];
        for (int i = 0; i < count; i++) {
            requests[i] = request(0, CMD_FLUSH, i, 0, 0);
        }
        nbd.send(requests);
        assertThat(device.heldCount()).isEqualTo(NbdTransmissionHandler.MAX_IN_FLIGHT_REQUESTS);
        assertThat(nbd.channel.config().isAutoRead()).isFalse();
        device.releaseAll();
        java.util.Set<Long> answered = new java.util.HashSet<>();
        for (int i = 0; i < count; i++) {
            Reply reply = reply();
            assertThat(reply.errno()).isZero();
            answered.add(reply.cookie());
        }
        assertThat(answered).hasSize(count);
        assertThat(nbd.channel.config().isAutoRead()).isTrue();
    }

    /** A device whose queue is full: it holds the next write and suspends the connection, as the agent's ring does. */
    private static final class FullQueueDevice implements BlockDevice {
        final MemoryBlockDevice inner;
        final java.util.ArrayDeque<Runnable> held = new java.util.ArrayDeque<>();
        BlockDevice.ConnectionFlow flow;
        boolean full;

        FullQueueDevice(MemoryBlockDevice inner) {
            this.inner = inner;
        }

        @Override
        public BlockDevice forConnection(BlockDevice.ConnectionFlow connectionFlow) {
            this.flow = connectionFlow;
            return this;
        }

        @Override
        public long sizeBytes() {
            return inner.sizeBytes();
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public boolean flushCoversAllConnections() {
            return true;
        }

        @Override
        public void read(long offset, int length, io.netty.buffer.ByteBuf dst, IoCompletion done) {
            inner.read(offset, length, dst, done);
        }

        @Override
        public void write(long offset, io.netty.buffer.ByteBuf data, boolean fua, IoCompletion done) {
            if (full || !held.isEmpty()) {
                held.add(() -> inner.write(offset, data, fua, done));
                flow.suspend();
            } else {
                inner.write(offset, data, fua, done);
            }
        }

        @Override
        public void writeZeroes(long offset, long length, boolean fua, IoCompletion done) {
            inner.writeZeroes(offset, length, fua, done);
        }

        @Override
        public void trim(long offset, long length, boolean fua, IoCompletion done) {
            inner.trim(offset, length, fua, done);
        }

        @Override
        public void flush(IoCompletion done) {
            inner.flush(done);
        }

        /** The queue has room again: hand the held writes on in order, on the event loop, and resume. */
        void room() {
            full = false;
            flow.executor().execute(() -> {
                while (!held.isEmpty()) {
                    held.poll().run();
                }
                flow.resume();
            });
        }
    }

    @Test
    void aDeviceThatCannotQueueARequestStopsReadingUntilItResumesAndEveryWriteIsAnsweredInOrder() throws IOException {
        FullQueueDevice full = new FullQueueDevice(device);
        connect(false, false, full);
        full.full = true;
        nbd.send(NbdWire.write(0, 1, 0, filled(512, 1)), NbdWire.write(0, 2, 512, filled(512, 2)),
                NbdWire.write(0, 3, 1024, filled(512, 3)), request(0, CMD_READ, 4, 0, 512));

        // Only the first write reached the device, which holds it; nothing after it was decoded.
        assertThat(full.held).hasSize(1);
        assertThat(device.calls()).isEmpty();
        assertThat(nbd.channel.config().isAutoRead()).isFalse();
        assertThat(nbd.nothingMoreWritten()).isTrue();

        full.room();
        nbd.channel.runPendingTasks();
        expectSimple(1, 0);
        expectSimple(2, 0);
        expectSimple(3, 0);
        expectSimple(4, 0);
        byte[] read = new byte[512];
        in.readFully(read);
        assertThat(read).isEqualTo(filled(512, 1));
        assertThat(device.calls()).containsExactly("write 0+512", "write 512+512", "write 1024+512", "read 0+512");
        assertThat(nbd.channel.config().isAutoRead()).isTrue();
    }
}
