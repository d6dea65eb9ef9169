package io.ferry.delta;

import static io.ferry.delta.DeltaFormat.TRIM;
import static io.ferry.delta.DeltaFormat.WRITE;
import static io.ferry.delta.DeltaFormat.WRITE_ZEROES;
import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.wire.Frames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Property-style checks of coalescing: random overlapping writes, zeroes and trims on two
 * volumes, applied one by one to byte arrays, must give the same arrays as the decoded delta's
 * extents applied in a random order.
 */
class DeltaCoalescingTest {

    private static final int VOLUME_BYTES = 64 << 10;
    private static final ByteBufAllocator HEAP = new UnpooledByteBufAllocator(false, true);
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final ByteBuffer SCRATCH = ByteBuffer.allocateDirect(VOLUME_BYTES + 3);

    @Test
    void shouldMatchRecordByRecordApplicationForRandomOverlappingWrites() {
        Random random = new Random(20240611L);
        DeltaEncoder encoder = new DeltaEncoder();
        DeltaDecoder decoder = new DeltaDecoder(16 << 20);
        long seq = 1;
        for (int iteration = 0; iteration < 2000; iteration++) {
            int maxLength = random.nextBoolean() ? 512 : 16 << 10;
            int records = 1 + random.nextInt(iteration % 10 == 0 ? 400 : 40);
            seq = runIteration(random, encoder, decoder, seq, records, maxLength, iteration);
        }
    }

    @Test
    void shouldMatchForSequentialAndRewrittenRuns() {
        Random random = new Random(7);
        DeltaEncoder encoder = new DeltaEncoder();
        DeltaDecoder decoder = new DeltaDecoder(16 << 20);
        byte[][] before = {new byte[VOLUME_BYTES], new byte[VOLUME_BYTES]};
        byte[][] expected = {before[0].clone(), before[1].clone()};
        encoder.begin("g", 1);
        long seq = 1;
        for (int pass = 0; pass < 3; pass++) {
            for (int offset = 0; offset < VOLUME_BYTES; offset += 4096) {
                byte[] data = randomData(random, 4096);
                encoder.add(pass % 2, WRITE, offset, 4096, seq++, seq, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, expected[pass % 2], offset, 4096);
            }
        }
        assertThat(encoder.extentCount()).as("sequential writes merge into one extent per volume").isEqualTo(2);
        assertThat(encoder.coalescedBytes()).isEqualTo(2L * VOLUME_BYTES);
        assertThat(encoder.inputBytes()).isEqualTo(3L * VOLUME_BYTES);
        assertApplied(encoder, decoder, before, expected, random, "sequential");
    }

    private static long runIteration(Random random, DeltaEncoder encoder, DeltaDecoder decoder, long seq,
            int records, int maxLength, int iteration) {
        byte[][] before = {randomData(random, VOLUME_BYTES), randomData(random, VOLUME_BYTES)};
        byte[][] expected = {before[0].clone(), before[1].clone()};
        encoder.begin("group-" + (iteration % 3), iteration);
        long inputBytes = 0;
        for (int r = 0; r < records; r++) {
            int volume = random.nextInt(2);
            int length = random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(maxLength);
            int offset = random.nextInt(VOLUME_BYTES - length + 1);
            int pick = random.nextInt(10);
            byte type = pick < 7 ? WRITE : pick < 9 ? WRITE_ZEROES : TRIM;
            ByteBuffer data = null;
            if (type == WRITE) {
                byte[] bytes = randomData(random, length);
                System.arraycopy(bytes, 0, expected[volume], offset, length);
                // a direct buffer with a non-zero position, as a journal reader hands them out
                data = SCRATCH.clear().position(3).limit(3 + length);
                data.put(bytes).position(3);
                inputBytes += length;
            } else {
                Arrays.fill(expected[volume], offset, offset + length, (byte) 0);
            }
            encoder.add(volume, type, offset, length, seq, 1000 + seq, data);
            if (data != null) {
                assertThat(data.position()).isEqualTo(3);
            }
            seq++;
        }
        assertThat(encoder.recordCount()).isEqualTo(records);
        assertThat(encoder.inputBytes()).isEqualTo(inputBytes);
        assertThat(encoder.lastSeq() - encoder.firstSeq() + 1).isEqualTo(records);
        assertApplied(encoder, decoder, before, expected, random, "iteration " + iteration);
        return seq;
    }

    private static void assertApplied(DeltaEncoder encoder, DeltaDecoder decoder, byte[][] before, byte[][] expected,
            Random random, String what) {
        // Mostly an untracked heap allocator: paranoid leak detection records a stack trace per
        // access of a pooled buffer, which would dominate the run time; the pooled direct path
        // still runs every 16th time.
        ByteBufAllocator alloc = random.nextInt(16) == 0 ? ByteBufAllocator.DEFAULT : HEAP;
        ByteBuf frame = encoder.encode(alloc);
        try {
            assertThat(frame.getInt(8)).isEqualTo(frame.readableBytes() - Frames.HEADER_BYTES);
            assertThat((long) frame.readableBytes() - Frames.HEADER_BYTES).isLessThanOrEqualTo(encoder.maxEncodedBodyBytes());
            Delta delta = decoder.decode(frame.slice(Frames.HEADER_BYTES, frame.readableBytes() - Frames.HEADER_BYTES));
            assertThat(delta.group()).isEqualTo(encoder.group());
            assertThat(delta.epoch()).isEqualTo(encoder.epoch());
            assertThat(delta.firstSeq()).isEqualTo(encoder.firstSeq());
            assertThat(delta.lastSeq()).isEqualTo(encoder.lastSeq());
            assertThat(delta.firstCaptureNanos()).isEqualTo(encoder.firstCaptureNanos());
            assertThat(delta.lastCaptureNanos()).isEqualTo(encoder.lastCaptureNanos());
            assertThat(delta.extentCount()).isEqualTo(encoder.extentCount());
            long writeBytes = 0;
            for (int i = 0; i < delta.extentCount(); i++) {
                writeBytes += delta.type(i) == WRITE ? delta.length(i) : 0;
            }
            assertThat(writeBytes).isEqualTo(encoder.coalescedBytes());
            assertThat((long) delta.dataLength()).isBetween(encoder.coalescedBytes(), encoder.inputBytes());

            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < delta.extentCount(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, random);
            byte[][] actual = {before[0].clone(), before[1].clone()};
            for (int i : order) {
                byte[] volume = actual[delta.volumeIndex(i)];
                int offset = (int) delta.offset(i);
                int length = (int) delta.length(i);
                if (delta.type(i) == WRITE) {
                    ByteBuffer data = delta.data(i);
                    assertThat(data.remaining()).isEqualTo(length);
                    data.get(volume, offset, length);
                } else {
                    Arrays.fill(volume, offset, offset + length, (byte) 0);
                }
            }
            assertThat(actual[0]).as(what + ", volume 0").isEqualTo(expected[0]);
            assertThat(actual[1]).as(what + ", volume 1").isEqualTo(expected[1]);
        } finally {
            frame.release();
        }
    }

    /** Half of the blocks random, half runs of one byte: compressible, like real disk data. */
    static byte[] randomData(Random random, int length) {
        byte[] b = new byte[length];
        if (random.nextBoolean()) {
            noise(b, random.nextLong());
        } else {
            Arrays.fill(b, (byte) random.nextInt(256));
            for (int i = 0; i < length / 64; i++) {
                b[random.nextInt(length)] = (byte) random.nextInt(256);
            }
        }
        return b;
    }

    /** Pseudo-random bytes, much faster than Random.nextBytes (xorshift64, eight bytes a step). */
    private static void noise(byte[] b, long seed) {
        long x = seed | 1;
        int i = 0;
        for (; i + 8 <= b.length; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            LONGS.set(b, i, x);
        }
        for (; i < b.length; i++) {
            b[i] = (byte) (x >>> (8 * (i & 7)));
        }
    }
}
