package io.ferry.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {

    private final EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(1024));

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    @Test
    void shouldEmitEachFrameWhenBytesArriveOneAtATime() {
        List<ControlMessage> sent = List.of(
                new Ack("g1", 42),
                new Heartbeat(123_456_789L),
                new ErrorMessage(ErrorCode.SEQUENCE_GAP, "delta starts at 9, expected 7"),
                new Bookmark("g1", 7, "before upgrade"));
        ByteBuf all = Unpooled.buffer();
        for (ControlMessage m : sent) {
            ByteBuf frame = m.encode(ByteBufAllocator.DEFAULT);
            all.writeBytes(frame);
            frame.release();
        }
        List<ControlMessage> received = new ArrayList<>();
        while (all.isReadable()) {
            channel.writeInbound(all.readRetainedSlice(1));
            Frame frame;
            while ((frame = channel.readInbound()) != null) {
                try {
                    received.add(ControlMessage.decode(frame));
                } finally {
                    frame.release();
                }
            }
        }
        all.release();
        assertThat(received).isEqualTo(sent);
    }

    @Test
    void shouldNotMoveTheReaderIndexOnAPartialFrame() {
        FrameDecoder decoder = new FrameDecoder(1024);
        ByteBuf frame = new Ack("g1", 1).encode(ByteBufAllocator.DEFAULT);
        try {
            for (int available = 0; available < frame.readableBytes(); available++) {
                ByteBuf partial = frame.slice(0, available);
                List<Object> out = new ArrayList<>();
                decoder.decode(null, partial, out);
                assertThat(out).isEmpty();
                assertThat(partial.readerIndex()).isZero();
            }
            List<Object> out = new ArrayList<>();
            decoder.decode(null, frame, out);
            assertThat(out).hasSize(1);
            assertThat(frame.isReadable()).isFalse();
            Frame decoded = (Frame) out.get(0);
            assertThat(decoded.type()).isEqualTo(Frames.ACK);
            assertThat(Ack.decode(decoded.body())).isEqualTo(new Ack("g1", 1));
            decoded.release();
        } finally {
            frame.release();
        }
    }

    @Test
    void shouldRefuseAnOversizedBodyLengthBeforeTheBodyArrives() {
        ByteBuf header = header(Frames.MAGIC, Frames.VERSION, Frames.DELTA, 0, 1025);
        assertProtocolError(header, ErrorCode.FRAME_TOO_LARGE, "1025", "1024");
    }

    @Test
    void shouldRefuseABodyLengthAboveTwoGibibytesAsTooLarge() {
        assertProtocolError(header(Frames.MAGIC, Frames.VERSION, Frames.DELTA, 0, 0xFFFF_FFF0), ErrorCode.FRAME_TOO_LARGE,
                "4294967280");
    }

    @Test
    void shouldRefuseBadMagic() {
        assertProtocolError(header(0x47455420, Frames.VERSION, Frames.ACK, 0, 0), ErrorCode.BAD_MAGIC, "0x47455420");
    }

    @Test
    void shouldRefuseAnotherVersion() {
        assertProtocolError(header(Frames.MAGIC, 2, Frames.ACK, 0, 0), ErrorCode.UNSUPPORTED_VERSION, "version 2");
    }

    @Test
    void shouldRefuseUnknownTypes() {
        for (int type : new int[] {0, Frames.DIFF + 1, 255}) {
            EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024));
            assertThatThrownBy(() -> ch.writeInbound(header(Frames.MAGIC, Frames.VERSION, type, 0, 0)))
                    .isInstanceOfSatisfying(ProtocolException.class,
                            e -> assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_TYPE))
                    .hasMessageContaining("type " + type);
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void shouldRefuseNonZeroFlags() {
        assertProtocolError(header(Frames.MAGIC, Frames.VERSION, Frames.ACK, 0x8000, 0), ErrorCode.MALFORMED, "flags 0x8000");
    }

    @Test
    void shouldDiscardEverythingAfterAProtocolError() {
        ByteBuf bad = header(0, Frames.VERSION, Frames.ACK, 0, 0);
        assertThatThrownBy(() -> channel.writeInbound(bad)).isInstanceOf(ProtocolException.class);
        ByteBuf good = new Ack("g1", 1).encode(ByteBufAllocator.DEFAULT);
        channel.writeInbound(good);
        assertThat((Object) channel.readInbound()).isNull();
    }

    @Test
    void shouldApplyANewMaximumToFramesNotYetStarted() {
        FrameDecoder decoder = channel.pipeline().get(FrameDecoder.class);
        decoder.setMaxBodyBytes(8);
        ByteBuf heartbeat = new Heartbeat(1).encode(ByteBufAllocator.DEFAULT);
        channel.writeInbound(heartbeat);
        Frame frame = channel.readInbound();
        assertThat(frame.body().readableBytes()).isEqualTo(8);
        frame.release();
        assertThatThrownBy(() -> channel.writeInbound(new Ack("g1", 1).encode(ByteBufAllocator.DEFAULT)))
                .isInstanceOfSatisfying(ProtocolException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE));
    }

    @Test
    void shouldEmitAnEmptyBodyFrame() {
        channel.writeInbound(header(Frames.MAGIC, Frames.VERSION, Frames.HEARTBEAT, 0, 0));
        Frame frame = channel.readInbound();
        assertThat(frame.type()).isEqualTo(Frames.HEARTBEAT);
        assertThat(frame.body().readableBytes()).isZero();
        assertThatThrownBy(() -> Heartbeat.decode(frame.body()))
                .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED))
                .hasMessageContaining("sentEpochNanos");
        frame.release();
    }

    private void assertProtocolError(ByteBuf input, ErrorCode code, String... messageParts) {
        assertThatThrownBy(() -> channel.writeInbound(input))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e.code()).isEqualTo(code);
                    for (String part : messageParts) {
                        assertThat(e.getMessage()).contains(part);
                    }
                });
        assertThat((Object) channel.readInbound()).isNull();
    }

    static ByteBuf header(int magic, int version, int type, int flags, long bodyLength) {
        ByteBuf b = Unpooled.buffer(Frames.HEADER_BYTES);
        b.writeInt(magic);
        b.writeByte(version);
        b.writeByte(type);
        b.writeShort(flags);
        b.writeInt((int) bodyLength);
        return b;
    }
}
