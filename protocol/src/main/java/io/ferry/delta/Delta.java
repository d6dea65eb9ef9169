package io.ferry.delta;

import io.ferry.wire.ProtocolException;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A decoded DELTA frame ({@link DeltaFormat}): its seq range, capture times and extents, checked
 * (checksum included) before it is handed out. Extents are sorted by (volume index, offset) and
 * do not overlap.
 *
 * <p>A Delta from a {@link DeltaDecoder} is a view owned by that decoder: its data lies in the
 * decoder's buffer (LZ4) or in the frame body (raw), so it is valid until the decoder's next
 * {@code decode} and while the body is not released. Read by the decoder's thread, or handed
 * on together with the frame and a decoder per consumer.
 */
public final class Delta {

    private String group;
    private long firstSeq;
    private long lastSeq;
    private long epoch;
    private long firstCaptureNanos;
    private long lastCaptureNanos;
    private int extentCount;
    private int[] volumeIndex = new int[16];
    private byte[] type = new byte[16];
    private long[] offset = new long[16];
    private long[] length = new long[16];
    private int[] dataOffset = new int[16];
    private ByteBuffer data;
    private int dataLength;
    private boolean compressed;

    Delta() {
    }

    /**
     * Decodes a DELTA body into a new Delta with a buffer of its own (sized after the checks).
     * The receiver's hot path uses a {@link DeltaDecoder} instead, which reuses its buffer.
     *
     * @throws ProtocolException MALFORMED, FRAME_TOO_LARGE or BAD_CHECKSUM
     */
    public static Delta decode(ByteBuf body, int maxUncompressedBytes) {
        return new DeltaDecoder(maxUncompressedBytes).decode(body);
    }

    void reset(String group, long firstSeq, long lastSeq, long epoch, long firstCaptureNanos,
            long lastCaptureNanos, int extentCount) {
        this.group = group;
        this.firstSeq = firstSeq;
        this.lastSeq = lastSeq;
        this.epoch = epoch;
        this.firstCaptureNanos = firstCaptureNanos;
        this.lastCaptureNanos = lastCaptureNanos;
        this.extentCount = 0;
        if (volumeIndex.length < extentCount) {
            int n = Math.max(extentCount, volumeIndex.length * 2);
            volumeIndex = Arrays.copyOf(volumeIndex, n);
            type = Arrays.copyOf(type, n);
            offset = Arrays.copyOf(offset, n);
            length = Arrays.copyOf(length, n);
            dataOffset = Arrays.copyOf(dataOffset, n);
        }
        this.data = null;
        this.dataLength = 0;
    }

    void addExtent(int volumeIndex, byte type, long offset, long length, int dataOffset) {
        int i = extentCount++;
        this.volumeIndex[i] = volumeIndex;
        this.type[i] = type;
        this.offset[i] = offset;
        this.length[i] = length;
        this.dataOffset[i] = dataOffset;
    }

    void setData(ByteBuffer data, int dataLength, boolean compressed) {
        this.data = data;
        this.dataLength = dataLength;
        this.compressed = compressed;
    }

    public String group() {
        return group;
    }

    public long firstSeq() {
        return firstSeq;
    }

    public long lastSeq() {
        return lastSeq;
    }

    public long epoch() {
        return epoch;
    }

    public long firstCaptureNanos() {
        return firstCaptureNanos;
    }

    public long lastCaptureNanos() {
        return lastCaptureNanos;
    }

    public int extentCount() {
        return extentCount;
    }

    public int volumeIndex(int i) {
        checkIndex(i);
        return volumeIndex[i];
    }

    /** {@link DeltaFormat#WRITE}, {@link DeltaFormat#WRITE_ZEROES} or {@link DeltaFormat#TRIM}. */
    public byte type(int i) {
        checkIndex(i);
        return type[i];
    }

    public long offset(int i) {
        checkIndex(i);
        return offset[i];
    }

    public long length(int i) {
        checkIndex(i);
        return length[i];
    }

    /**
     * A new read-only view of extent {@code i}'s bytes (position 0, {@code length(i)} remaining) for
     * WRITE; an empty buffer for WRITE_ZEROES and TRIM. Allocation-free callers use
     * {@link #data()} with {@link #dataOffset(int)}.
     */
    public ByteBuffer data(int i) {
        checkIndex(i);
        if (type[i] != DeltaFormat.WRITE) {
            return data.slice(0, 0);
        }
        return data.slice(dataOffset[i], (int) length[i]);
    }

    /** Where extent {@code i}'s bytes start in {@link #data()} (WRITE extents only). */
    public int dataOffset(int i) {
        checkIndex(i);
        return dataOffset[i];
    }

    /**
     * The uncompressed data: a read-only view from 0 to {@link #dataLength()}. WRITE extents lie
     * within it at their {@link #dataOffset(int)}; bytes no extent refers to are overwritten ones.
     */
    public ByteBuffer data() {
        return data.duplicate();
    }

    /** Uncompressed data bytes in this delta (at least the sum of the WRITE extents' lengths). */
    public int dataLength() {
        return dataLength;
    }

    /** Whether the data travelled LZ4-compressed. */
    public boolean wasCompressed() {
        return compressed;
    }

    private void checkIndex(int i) {
        if (i < 0 || i >= extentCount) {
            throw new IndexOutOfBoundsException("extent " + i + " of " + extentCount);
        }
    }

    @Override
    public String toString() {
        return "Delta[" + group + " seq " + firstSeq + ".." + lastSeq + ", epoch " + epoch + ", " + extentCount
                + " extents, " + dataLength + " data bytes" + (compressed ? " (LZ4)" : "") + "]";
    }
}
