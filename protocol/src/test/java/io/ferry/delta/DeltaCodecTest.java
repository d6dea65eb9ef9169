package io.ferry.delta;

import static io.ferry.delta.DeltaFormat.TRIM;
import static io.ferry.delta.DeltaFormat.WRITE;
import static io.ferry.delta.DeltaFormat.WRITE_ZEROES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.wire.ErrorCode;
import io.ferry.wire.Frame;
import io.ferry.wire.FrameDecoder;
import io.ferry.wire.Frames;
import io.ferry.wire.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class DeltaCodecTest {

    // Body offsets for group "g1" (name: 1 + 2 bytes); extent fields: +4 dataOffset, +8 offset, +16 length.
    private static final int UNCOMPRESSED_LENGTH_AT = 3 + 5 * 8;
    private static final int EXTENT_COUNT_AT = UNCOMPRESSED_LENGTH_AT + 4;
    private static final int EXTENTS_AT = EXTENT_COUNT_AT + 4;

    private static final int MAX = 1 << 20;

    @Test
    void shouldRoundTripHeaderFieldsExtentsAndData() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 9);
        byte[] a = filled(4096, 'a');
        byte[] b = filled(100, 'b');
        encoder.add(1, WRITE, 8192, 4096, 5, 1_000, ByteBuffer.wrap(a));
        encoder.add(0, WRITE_ZEROES, 0, 1 << 20, 6, 2_000, null);
        encoder.add(0, WRITE, 512, 100, 7, 3_000, ByteBuffer.wrap(b));
        encoder.add(1, TRIM, 0, 4096, 8, 4_000, null);
        encoder.add(1, WRITE, 0, 0, 9, 5_000, ByteBuffer.allocate(0));

        assertThat(encoder.firstSeq()).isEqualTo(5);
        assertThat(encoder.lastSeq()).isEqualTo(9);
        assertThat(encoder.recordCount()).isEqualTo(5);
        assertThat(encoder.inputBytes()).isEqualTo(4196);
        assertThat(encoder.coalescedBytes()).isEqualTo(4196);
        assertThat(encoder.firstCaptureNanos()).isEqualTo(1_000);
        assertThat(encoder.lastCaptureNanos()).isEqualTo(5_000);

        Delta delta = decode(encoder);
        assertThat(delta.group()).isEqualTo("g1");
        assertThat(delta.epoch()).isEqualTo(9);
        assertThat(delta.firstSeq()).isEqualTo(5);
        assertThat(delta.lastSeq()).isEqualTo(9);
        assertThat(delta.firstCaptureNanos()).isEqualTo(1_000);
        assertThat(delta.lastCaptureNanos()).isEqualTo(5_000);
        assertThat(delta.wasCompressed()).isTrue();
        assertThat(delta.extentCount()).isEqualTo(5);
        // volume 0: zeroes [0,512), write [512,612), zeroes [612, 1 MiB); volume 1: trim [0,4096), write [8192, 12288)
        assertExtent(delta, 0, 0, WRITE_ZEROES, 0, 512);
        assertExtent(delta, 1, 0, WRITE, 512, 100);
        assertExtent(delta, 2, 0, WRITE_ZEROES, 612, (1 << 20) - 612);
        assertExtent(delta, 3, 1, TRIM, 0, 4096);
        assertExtent(delta, 4, 1, WRITE, 8192, 4096);
        assertThat(bytes(delta.data(1))).isEqualTo(b);
        assertThat(bytes(delta.data(4))).isEqualTo(a);
        assertThat(delta.data(0).remaining()).isZero();
    }

    @Test
    void shouldTrimAndSplitPartlyOverwrittenExtents() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        encoder.add(0, WRITE, 0, 300, 1, 0, ByteBuffer.wrap(filled(300, 'x')));
        encoder.add(0, WRITE, 100, 100, 2, 0, ByteBuffer.wrap(filled(100, 'y')));
        assertThat(encoder.extentCount()).isEqualTo(3);
        assertThat(encoder.coalescedBytes()).isEqualTo(300);
        encoder.add(0, WRITE, 0, 300, 3, 0, ByteBuffer.wrap(filled(300, 'z')));
        assertThat(encoder.extentCount()).isEqualTo(1);
        assertThat(encoder.coalescedBytes()).isEqualTo(300);
        assertThat(encoder.inputBytes()).isEqualTo(700);
        Delta delta = decode(encoder);
        assertExtent(delta, 0, 0, WRITE, 0, 300);
        assertThat(bytes(delta.data(0))).isEqualTo(filled(300, 'z'));
    }

    @Test
    void shouldStoreIncompressibleDataRaw() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        byte[] noise = new byte[64 << 10];
        new Random(1).nextBytes(noise);
        encoder.add(0, WRITE, 0, noise.length, 1, 0, ByteBuffer.wrap(noise));
        ByteBuf frame = encoder.encode(ByteBufAllocator.DEFAULT);
        try {
            ByteBuf body = body(frame);
            int flagsAt = EXTENTS_AT + DeltaFormat.EXTENT_BYTES + 8;
            assertThat(body.getByte(flagsAt)).isZero();
            assertThat(body.getInt(flagsAt + 1)).isEqualTo(noise.length);
            Delta delta = Delta.decode(body, MAX);
            assertThat(delta.wasCompressed()).isFalse();
            assertThat(bytes(delta.data(0))).isEqualTo(noise);
        } finally {
            frame.release();
        }
    }

    @Test
    void shouldCompressCompressibleDataBelowHalf() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        byte[] data = new byte[64 << 10];
        Random random = new Random(2);
        for (int block = 0; block < data.length; block += 4096) {
            byte[] noise = new byte[2048];
            random.nextBytes(noise);
            System.arraycopy(noise, 0, data, block, 2048);
        }
        encoder.add(0, WRITE, 0, data.length, 1, 0, ByteBuffer.wrap(data));
        ByteBuf frame = encoder.encode(ByteBufAllocator.DEFAULT);
        try {
            assertThat(frame.readableBytes()).isLessThan(data.length * 55 / 100);
            Delta delta = Delta.decode(body(frame), MAX);
            assertThat(delta.wasCompressed()).isTrue();
            assertThat(bytes(delta.data(0))).isEqualTo(data);
        } finally {
            frame.release();
        }
    }

    @Test
    void shouldEncodeADeltaOfOnlyZeroes() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        encoder.add(0, WRITE_ZEROES, 0, 1L << 40, 1, 0, null);
        Delta delta = decode(encoder);
        assertThat(delta.dataLength()).isZero();
        assertExtent(delta, 0, 0, WRITE_ZEROES, 0, 1L << 40);
    }

    @Test
    void shouldDecodeAFrameDeliveredByteByByte() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        encoder.add(0, WRITE, 4096, 512, 1, 0, ByteBuffer.wrap(filled(512, 'q')));
        ByteBuf frame = encoder.encode(ByteBufAllocator.DEFAULT);
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Frames.DEFAULT_MAX_FRAME_BYTES));
        while (frame.isReadable()) {
            channel.writeInbound(frame.readRetainedSlice(1));
        }
        frame.release();
        Frame received = channel.readInbound();
        try {
            assertThat(received.type()).isEqualTo(Frames.DELTA);
            Delta delta = new DeltaDecoder(MAX).decode(received.body());
            assertThat(bytes(delta.data(0))).isEqualTo(filled(512, 'q'));
        } finally {
            received.release();
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void shouldRefuseSeqsThatAreNotConsecutive() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        encoder.add(0, WRITE_ZEROES, 0, 1, 10, 0, null);
        assertThatThrownBy(() -> encoder.add(0, WRITE_ZEROES, 0, 1, 12, 0, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seq 12 does not follow seq 10");
        assertThat(encoder.recordCount()).isEqualTo(1);
        encoder.add(0, WRITE_ZEROES, 0, 1, 11, 0, null);
        encoder.begin("g1", 2);
        assertThat(encoder.isEmpty()).isTrue();
        encoder.add(0, WRITE_ZEROES, 0, 1, 40, 0, null);
        assertThat(encoder.firstSeq()).isEqualTo(40);
    }

    @Test
    void shouldRefuseBadRecords() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        assertThatThrownBy(() -> encoder.add(0, (byte) 4, 0, 1, 1, 0, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> encoder.add(0, WRITE, -1, 1, 1, 0, ByteBuffer.allocate(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> encoder.add(0, WRITE_ZEROES, Long.MAX_VALUE, 2, 1, 0, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> encoder.add(0, WRITE, 0, 10, 1, 0, ByteBuffer.allocate(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("9 data bytes");
        assertThatThrownBy(() -> encoder.add(70_000, WRITE_ZEROES, 0, 1, 1, 0, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(encoder.isEmpty()).isTrue();
        assertThatThrownBy(() -> encoder.encode(ByteBufAllocator.DEFAULT)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> encoder.begin("no/slash", 1)).isInstanceOf(IllegalArgumentException.class);
    }

    // ---- malformed input ----

    @Test
    void shouldRefuseAChecksumMismatch() {
        assertRefused(rawDelta(), body -> body.setLong(dataHashAt(body), 12345L), ErrorCode.BAD_CHECKSUM, "xxHash64");
    }

    @Test
    void shouldRefuseCorruptedRawData() {
        assertRefused(rawDelta(), body -> flip(body, body.writerIndex() - 1), ErrorCode.BAD_CHECKSUM, "xxHash64");
    }

    @Test
    void shouldRefuseEveryCorruptionOfLz4Data() {
        Random random = new Random(3);
        for (int i = 0; i < 300; i++) {
            ByteBuf frame = compressedDelta();
            ByteBuf body = body(frame);
            int dataAt = dataHashAt(body) + 8 + 1 + 4;
            int at = dataAt + random.nextInt(body.writerIndex() - dataAt);
            body.setByte(at, body.getByte(at) ^ (1 + random.nextInt(255)));
            try {
                // Either refused, or (a match offset changed to one pointing at equal bytes) the very same data.
                Delta delta;
                try {
                    delta = new DeltaDecoder(MAX).decode(body);
                } catch (ProtocolException e) {
                    assertThat(e.code()).as("corruption at %d", at).isEqualTo(ErrorCode.BAD_CHECKSUM);
                    continue;
                }
                assertThat(bytes(delta.data(0))).as("corruption at %d decoded", at).isEqualTo(compressedDeltaData());
            } finally {
                frame.release();
            }
        }
    }

    @Test
    void shouldRefuseTruncatedLz4Data() {
        ByteBuf frame = compressedDelta();
        try {
            ByteBuf body = body(frame);
            int storedAt = dataHashAt(body) + 8 + 1;
            body.setInt(storedAt, body.getInt(storedAt) - 10);
            ByteBuf cut = body.slice(0, body.writerIndex() - 10);
            assertThatThrownBy(() -> Delta.decode(cut, MAX))
                    .isInstanceOfSatisfying(ProtocolException.class,
                            e -> assertThat(e.code()).isEqualTo(ErrorCode.BAD_CHECKSUM))
                    .hasMessageContaining("LZ4");
        } finally {
            frame.release();
        }
    }

    @Test
    void shouldRefuseANegativeOffset() {
        assertRefused(rawDelta(), body -> body.setLong(EXTENTS_AT + 8, -4096), ErrorCode.MALFORMED, "offset -4096");
    }

    @Test
    void shouldRefuseAnOverflowingOffsetPlusLength() {
        assertRefused(zeroesDelta(), body -> body.setLong(EXTENTS_AT + 8, Long.MAX_VALUE - 10),
                ErrorCode.MALFORMED, "overflow");
    }

    @Test
    void shouldRefuseAZeroOrNegativeLength() {
        assertRefused(zeroesDelta(), body -> body.setLong(EXTENTS_AT + 16, 0), ErrorCode.MALFORMED, "length 0");
        assertRefused(zeroesDelta(), body -> body.setLong(EXTENTS_AT + 16, -1), ErrorCode.MALFORMED, "length -1");
    }

    @Test
    void shouldRefuseAnUnknownExtentType() {
        assertRefused(zeroesDelta(), body -> body.setByte(EXTENTS_AT + 2, 9), ErrorCode.MALFORMED, "type 9");
    }

    @Test
    void shouldRefuseOverlappingExtents() {
        assertRefused(twoZeroExtents(), body -> body.setLong(EXTENTS_AT + DeltaFormat.EXTENT_BYTES + 8, 100),
                ErrorCode.MALFORMED, "overlaps");
    }

    @Test
    void shouldRefuseAnExtentCountBeyondTheBody() {
        assertRefused(zeroesDelta(), body -> body.setInt(EXTENT_COUNT_AT, -1), ErrorCode.MALFORMED, "extentCount is 4294967295");
    }

    @Test
    void shouldRefuseAWriteExtentOutsideTheData() {
        assertRefused(rawDelta(), body -> body.setInt(UNCOMPRESSED_LENGTH_AT, 4095), ErrorCode.MALFORMED,
                "dataOffset 0 length 4096, outside the 4095 data bytes");
        assertRefused(rawDelta(), body -> body.setInt(EXTENTS_AT + 4, 1), ErrorCode.MALFORMED,
                "dataOffset 1 length 4096, outside the 4096 data bytes");
        assertRefused(rawDelta(), body -> body.setInt(EXTENTS_AT + 4, -1), ErrorCode.MALFORMED,
                "dataOffset 4294967295");
    }

    @Test
    void shouldRefuseADataOffsetOnAZeroExtent() {
        assertRefused(zeroesDelta(), body -> body.setInt(EXTENTS_AT + 4, 8), ErrorCode.MALFORMED,
                "(WRITE_ZEROES) has dataOffset 8");
    }

    @Test
    void shouldRefuseDataLargerThanTheMaximum() {
        ByteBuf frame = rawDelta();
        try {
            assertThatThrownBy(() -> Delta.decode(body(frame), 4095))
                    .isInstanceOfSatisfying(ProtocolException.class,
                            e -> assertThat(e.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE))
                    .hasMessageContaining("4095");
        } finally {
            frame.release();
        }
    }

    @Test
    void shouldRefuseAHugeDeclaredLengthBeforeAllocating() {
        assertRefused(zeroesDelta(), body -> body.setInt(UNCOMPRESSED_LENGTH_AT, -1), ErrorCode.FRAME_TOO_LARGE,
                "uncompressedLength 4294967295");
    }

    @Test
    void shouldRefuseAStoredLengthThatDisagreesWithTheBody() {
        assertRefused(rawDelta(), body -> body.setInt(dataHashAt(body) + 9, 4097), ErrorCode.MALFORMED,
                "storedLength is 4097 but 4096 bytes follow");
    }

    @Test
    void shouldRefuseTrailingBytes() {
        assertRefused(rawDelta(), body -> body.writeByte(0), ErrorCode.MALFORMED, "storedLength is 4096 but 4097");
    }

    @Test
    void shouldRefuseUnknownFlags() {
        assertRefused(rawDelta(), body -> body.setByte(dataHashAt(body) + 8, 0x81), ErrorCode.MALFORMED, "flags 0x81");
    }

    @Test
    void shouldRefuseAnInvertedSeqRange() {
        assertRefused(rawDelta(), body -> body.setLong(3, 100), ErrorCode.MALFORMED, "seq range 100..1");
    }

    @Test
    void shouldRefuseABadGroupName() {
        assertRefused(rawDelta(), body -> body.setByte(1, '/'), ErrorCode.MALFORMED, "group");
    }

    @Test
    void shouldRefuseEveryTruncation() {
        ByteBuf frame = rawDelta();
        try {
            ByteBuf body = body(frame);
            for (int cut = 0; cut < body.readableBytes(); cut++) {
                ByteBuf truncated = body.slice(0, cut);
                assertThatThrownBy(() -> Delta.decode(truncated, MAX)).as("cut at %d", cut)
                        .isInstanceOfSatisfying(ProtocolException.class,
                                e -> assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED));
            }
        } finally {
            frame.release();
        }
    }

    // ---- helpers ----

    private static Delta decode(DeltaEncoder encoder) {
        ByteBuf frame = encoder.encode(ByteBufAllocator.DEFAULT);
        try {
            // copy out of the frame: the decoded view may point into the body
            ByteBuf copy = Unpooled.copiedBuffer(body(frame));
            return Delta.decode(copy, MAX);
        } finally {
            frame.release();
        }
    }

    private static ByteBuf body(ByteBuf frame) {
        assertThat(frame.getByte(5)).isEqualTo((byte) Frames.DELTA);
        return frame.slice(Frames.HEADER_BYTES, frame.readableBytes() - Frames.HEADER_BYTES)
                .writerIndex(frame.readableBytes() - Frames.HEADER_BYTES);
    }

    /** Index of the xxHash64 field, for a body whose extents are all in place. */
    private static int dataHashAt(ByteBuf body) {
        return EXTENTS_AT + body.getInt(EXTENT_COUNT_AT) * DeltaFormat.EXTENT_BYTES;
    }

    private static ByteBuf rawDelta() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        byte[] noise = new byte[4096];
        new Random(5).nextBytes(noise);
        encoder.add(0, WRITE, 4096, 4096, 1, 0, ByteBuffer.wrap(noise));
        return unpooledCopy(encoder);
    }

    private static byte[] compressedDeltaData() {
        byte[] data = new byte[4096];
        Random random = new Random(6);
        for (int i = 0; i < data.length; i += 16) {
            data[i] = (byte) random.nextInt(4);
        }
        return data;
    }

    private static ByteBuf compressedDelta() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        byte[] data = compressedDeltaData();
        encoder.add(0, WRITE, 0, data.length, 1, 0, ByteBuffer.wrap(data));
        return unpooledCopy(encoder);
    }

    private static ByteBuf zeroesDelta() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        encoder.add(0, WRITE_ZEROES, 0, 4096, 1, 0, null);
        return unpooledCopy(encoder);
    }

    private static ByteBuf twoZeroExtents() {
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin("g1", 1);
        encoder.add(0, WRITE_ZEROES, 0, 4096, 1, 0, null);
        encoder.add(0, TRIM, 8192, 4096, 2, 0, null);
        return unpooledCopy(encoder);
    }

    private static ByteBuf unpooledCopy(DeltaEncoder encoder) {
        ByteBuf frame = encoder.encode(ByteBufAllocator.DEFAULT);
        try {
            return Unpooled.copiedBuffer(frame).capacity(frame.readableBytes() + 16);
        } finally {
            frame.release();
        }
    }

    private static void assertRefused(ByteBuf frame, Consumer<ByteBuf> corrupt, ErrorCode code, String messagePart) {
        try {
            ByteBuf body = Unpooled.buffer(frame.readableBytes() + 16).writeBytes(body(frame));
            corrupt.accept(body);
            assertThatThrownBy(() -> Delta.decode(body, MAX))
                    .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(code))
                    .hasMessageContaining(messagePart);
        } finally {
            frame.release();
        }
    }

    private static void flip(ByteBuf body, int index) {
        body.setByte(index, body.getByte(index) ^ 0x40);
    }

    private static void assertExtent(Delta delta, int i, int volume, byte type, long offset, long length) {
        assertThat(delta.volumeIndex(i)).as("volume of extent %d", i).isEqualTo(volume);
        assertThat(delta.type(i)).as("type of extent %d", i).isEqualTo(type);
        assertThat(delta.offset(i)).as("offset of extent %d", i).isEqualTo(offset);
        assertThat(delta.length(i)).as("length of extent %d", i).isEqualTo(length);
    }

    private static byte[] filled(int length, char c) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) c);
        return b;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] b = new byte[buffer.remaining()];
        buffer.duplicate().get(b);
        return b;
    }
}
