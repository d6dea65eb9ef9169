package io.ferry.replica.store;

import io.ferry.delta.DeltaEncoder;
import io.ferry.delta.DeltaFormat;
import io.ferry.wire.Frames;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * A deterministic write stream for a group of two small volumes, cut into DELTA bodies with the
 * protocol's encoder, and a byte-array model of what the replicas must hold after any seq. Seq
 * {@code s} is a function of {@code s} alone, so a test (or a child JVM that was killed) and the
 * checking side agree without sharing anything but the seq.
 */
final class DeltaWorkload {
    static final String GROUP = "db";
    static final List<VolumeInfo> VOLUMES = List.of(new VolumeInfo("data", 1 << 20), new VolumeInfo("log", 512 << 10));
    static final int RECORDS_PER_DELTA = 3;
    static final long EPOCH = 7;

    private final DeltaEncoder encoder = new DeltaEncoder();
    private final ByteBuffer payload = ByteBuffer.allocate(64 << 10);

    static int volumeOf(long seq) {
        return (int) (seq % 2);
    }

    static byte typeOf(long seq) {
        if (seq % 11 == 0) {
            return DeltaFormat.TRIM;
        }
        return seq % 7 == 0 ? DeltaFormat.WRITE_ZEROES : DeltaFormat.WRITE;
    }

    static long offsetOf(long seq) {
        long size = VOLUMES.get(volumeOf(seq)).sizeBytes();
        return (seq * 7919L * 512) % (size - (64 << 10));
    }

    static int lengthOf(long seq) {
        return typeOf(seq) == DeltaFormat.WRITE ? 4096 + (int) (seq % 5) * 1536 : 12288 + 100;
    }

    static long captureNanosOf(long seq) {
        return 1_000_000_000L * seq;
    }

    static byte byteOf(long seq, int i) {
        return (byte) (seq * 31 + i * 7 + (i >> 8));
    }

    /** The DELTA body (a slice of the whole frame: release it once) of records {@code firstSeq..lastSeq}. */
    ByteBuf body(long firstSeq, long lastSeq) {
        encoder.begin(GROUP, EPOCH);
        for (long seq = firstSeq; seq <= lastSeq; seq++) {
            byte type = typeOf(seq);
            int length = lengthOf(seq);
            ByteBuffer data = null;
            if (type == DeltaFormat.WRITE) {
                payload.clear();
                for (int i = 0; i < length; i++) {
                    payload.put(byteOf(seq, i));
                }
                payload.flip();
                data = payload;
            }
            encoder.add(volumeOf(seq), type, offsetOf(seq), length, seq, captureNanosOf(seq), data);
        }
        ByteBuf frame = encoder.encode(ByteBufAllocator.DEFAULT);
        return frame.skipBytes(Frames.HEADER_BYTES);
    }

    /** A DELTA body of seqs {@code firstSeq..lastSeq} without extents (seqs the agent folded into its dirty map). */
    ByteBuf gapBody(long firstSeq, long lastSeq) {
        encoder.begin(GROUP, EPOCH);
        encoder.coverSeqs(firstSeq, lastSeq, captureNanosOf(lastSeq));
        return encoder.encode(ByteBufAllocator.DEFAULT).skipBytes(Frames.HEADER_BYTES);
    }

    /** The last seq of the delta that starts at {@code firstSeq}. */
    static long lastSeqOfDeltaFrom(long firstSeq) {
        return firstSeq + RECORDS_PER_DELTA - 1;
    }

    /** What the replicas hold once every seq up to {@code seq} is applied. */
    static byte[][] expectedImages(long seq) {
        byte[][] images = new byte[VOLUMES.size()][];
        for (int v = 0; v < images.length; v++) {
            images[v] = new byte[(int) VOLUMES.get(v).sizeBytes()];
        }
        for (long s = 1; s <= seq; s++) {
            byte[] image = images[volumeOf(s)];
            int offset = (int) offsetOf(s);
            int length = lengthOf(s);
            if (typeOf(s) == DeltaFormat.WRITE) {
                for (int i = 0; i < length; i++) {
                    image[offset + i] = byteOf(s, i);
                }
            } else {
                Arrays.fill(image, offset, offset + length, (byte) 0);
            }
        }
        return images;
    }
}
