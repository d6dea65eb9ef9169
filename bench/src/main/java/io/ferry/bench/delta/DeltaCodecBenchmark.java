package io.ferry.bench.delta;

import io.ferry.delta.Delta;
import io.ferry.delta.DeltaDecoder;
import io.ferry.delta.DeltaEncoder;
import io.ferry.delta.DeltaFormat;
import io.ferry.wire.Frames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The delta codec on one core: {@code encode} coalesces a 16 MiB delta of 4 KiB or 64 KiB writes
 * on two volumes, LZ4-compresses and xxHashes it into a DELTA frame; {@code decode} checks and
 * decompresses that frame. Data is 2:1 compressible (each 4 KiB block half random, half zero,
 * like fio's buffer_compress_percentage=50). Writes land at random 4 KiB-aligned offsets
 * ({@code random}, one extent each) or one after the other ({@code sequential}, merged).
 *
 * <p>The score is MiB of write payload per second (16 operations of 1 MiB per invocation).
 * Target (DESIGN.md): at least 1 GB/s (954 MiB/s) per core for encode.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DeltaCodecBenchmark {

    private static final int DELTA_BYTES = 16 << 20;
    private static final int MIB_PER_DELTA = DELTA_BYTES >> 20;
    private static final int POOL_BYTES = 64 << 20;
    private static final long VOLUME_BYTES = 8L << 30;

    @Param({"4096", "65536"})
    public int writeBytes;

    @Param({"random", "sequential"})
    public String pattern;

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final DeltaEncoder encoder = new DeltaEncoder();
    private final DeltaDecoder decoder = new DeltaDecoder(Frames.DEFAULT_MAX_FRAME_BYTES);
    private ByteBuffer pool;
    private int records;
    private int[] volumes;
    private long[] offsets;
    private int[] poolOffsets;
    private ByteBuffer[] views;
    private ByteBuf encodedFrame;
    private ByteBuf encodedBody;
    private long nextSeq = 1;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(42);
        pool = ByteBuffer.allocateDirect(POOL_BYTES);
        byte[] half = new byte[2048];
        for (int block = 0; block < POOL_BYTES; block += 4096) {
            random.nextBytes(half);
            pool.put(block, half);
        }
        records = DELTA_BYTES / writeBytes;
        volumes = new int[records];
        offsets = new long[records];
        poolOffsets = new int[records];
        views = new ByteBuffer[records];
        long blocks = VOLUME_BYTES / writeBytes;
        for (int i = 0; i < records; i++) {
            volumes[i] = i % 2;
            offsets[i] = pattern.equals("random") ? random.nextLong(blocks) * writeBytes : (long) (i / 2) * writeBytes;
            poolOffsets[i] = random.nextInt(POOL_BYTES / writeBytes) * writeBytes;
            views[i] = pool.slice(poolOffsets[i], writeBytes);
        }
        encodeDelta();
        ByteBuf frame = encoder.encode(alloc);
        encodedFrame = frame;
        encodedBody = frame.slice(Frames.HEADER_BYTES, frame.readableBytes() - Frames.HEADER_BYTES);
        System.out.printf("%n[delta] %d writes of %d bytes (%s): %d extents, %d -> %d frame bytes (%.2f:1)%n",
                records, writeBytes, pattern, encoder.extentCount(), encoder.coalescedBytes(), frame.readableBytes(),
                (double) encoder.coalescedBytes() / frame.readableBytes());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        encodedFrame.release();
    }

    private void encodeDelta() {
        encoder.begin("bench", 1);
        long seq = nextSeq;
        for (int i = 0; i < records; i++) {
            encoder.add(volumes[i], DeltaFormat.WRITE, offsets[i], writeBytes, seq++, seq, views[i]);
        }
        nextSeq = seq;
    }

    @Benchmark
    @OperationsPerInvocation(MIB_PER_DELTA)
    public int encode() {
        encodeDelta();
        ByteBuf frame = encoder.encode(alloc);
        int size = frame.readableBytes();
        frame.release();
        return size;
    }

    @Benchmark
    @OperationsPerInvocation(MIB_PER_DELTA)
    public long decode() {
        Delta delta = decoder.decode(encodedBody);
        return delta.lastSeq() + delta.dataLength();
    }
}
