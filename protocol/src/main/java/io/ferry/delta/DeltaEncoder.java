package io.ferry.delta;

import static io.ferry.delta.DeltaFormat.WRITE;

import io.ferry.wire.Frames;
import io.ferry.wire.WireCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.Arrays;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.xxhash.XXHash64;

/**
 * Builds one DELTA frame at a time from consecutive journal records of one consistency group,
 * coalescing as it goes: a later extent replaces the bytes of earlier ones it overlaps on the
 * same volume (last writer wins), so the delta holds only the final bytes of every range it
 * touches and applying its extents in any order gives the state after {@link #lastSeq()}.
 *
 * <p>Per volume an interval map keeps the live extents, non-overlapping and ordered by offset:
 * a treap over preallocated primitive arrays, so {@link #add} is O(log extents) and allocates
 * nothing once the arrays and the data buffer have grown to the delta size in use. Extents that
 * continue the previous one on the same volume (sequential writes, adjacent zeroes) are merged.
 * Written bytes are copied into an encoder-owned buffer; overwritten bytes stay there unused
 * until {@link #begin}, so memory is bounded by the input bytes of the largest delta built.
 * {@link #encode} compresses that buffer as it is (no further copy) while overwritten bytes are
 * at most 1/16 of it, and gathers the live bytes first otherwise.
 *
 * <p>Owned by one thread (the group's shipper); reused for every delta of the group.
 */
public final class DeltaEncoder {

    /** Most payload bytes one delta may take in (a frame is far smaller anyway). */
    public static final int MAX_INPUT_BYTES = 1 << 30;

    private static final int NIL = -1;
    private static final int FIXED_BODY_BYTES = 1 + WireCodec.MAX_NAME_BYTES + 5 * 8 + 4 + 4 + 8 + 1 + 4;

    private final LZ4Compressor compressor = DeltaFormat.LZ4.fastCompressor();
    private final XXHash64 xxHash = DeltaFormat.XXHASH.hash64();
    private int[] stack = new int[64];

    // Treap nodes: one live extent each. Free nodes are chained through nodeLeft.
    private long[] nodeOffset = new long[64];
    private long[] nodeLength = new long[64];
    private int[] nodeDataPos = new int[64];
    private byte[] nodeType = new byte[64];
    private int[] nodeLeft = new int[64];
    private int[] nodeRight = new int[64];
    private int[] nodePriority = new int[64];
    private int nodesUsed;
    private int freeList = NIL;
    private int priorityState = 0x2545F491;

    // Per-volume treap roots, and the volumes touched in this delta.
    private int[] roots = new int[0];
    private int[] touched = new int[8];
    private int touchedCount;

    private byte[] data = new byte[64 << 10];
    private int dataLength;
    private byte[] gather = new byte[0];
    private ByteBuffer gatherView = ByteBuffer.wrap(gather);
    private ByteBuffer dataView = ByteBuffer.wrap(data);

    // Split results.
    private int splitLeft;
    private int splitRight;

    private String group;
    private long epoch;
    private long firstSeq;
    private long lastSeq;
    private int recordCount;
    private long inputBytes;
    private long coalescedBytes;
    private int extentCount;
    private long firstCaptureNanos;
    private long lastCaptureNanos;

    /** Starts a new, empty delta; everything added before is dropped. */
    public void begin(String group, long epoch) {
        if (group == null || !group.equals(this.group)) {
            this.group = WireCodec.checkName("group name", group);
        }
        this.epoch = epoch;
        for (int i = 0; i < touchedCount; i++) {
            roots[touched[i]] = NIL;
        }
        touchedCount = 0;
        nodesUsed = 0;
        freeList = NIL;
        dataLength = 0;
        firstSeq = 0;
        lastSeq = 0;
        recordCount = 0;
        inputBytes = 0;
        coalescedBytes = 0;
        extentCount = 0;
        firstCaptureNanos = 0;
        lastCaptureNanos = 0;
    }

    /**
     * Adds one journal record. Seqs must be consecutive within a delta. For {@link DeltaFormat#WRITE}
     * {@code data} holds exactly {@code length} readable bytes, which are copied (its position is
     * left unchanged); for WRITE_ZEROES and TRIM it is ignored and may be null. A zero-length
     * record counts towards the seq range but adds no extent. On an IllegalArgumentException
     * the delta is unchanged.
     *
     * @throws IllegalArgumentException for a seq gap, a bad type, index, offset or length
     * @throws IllegalStateException before {@link #begin}, or past {@link #MAX_INPUT_BYTES}
     */
    public void add(int volumeIndex, byte type, long offset, long length, long seq, long captureNanos, ByteBuffer data) {
        if (group == null) {
            throw new IllegalStateException("add before begin");
        }
        if (recordCount > 0 && seq != lastSeq + 1) {
            throw new IllegalArgumentException("seq " + seq + " does not follow seq " + lastSeq
                    + " of group " + group + " (seqs of a delta must be consecutive)");
        }
        if (recordCount == 0 && seq < 1) {
            throw new IllegalArgumentException("seq " + seq + " is not >= 1");
        }
        if (volumeIndex < 0 || volumeIndex > DeltaFormat.MAX_VOLUME_INDEX) {
            throw new IllegalArgumentException("volumeIndex " + volumeIndex + " is outside 0.." + DeltaFormat.MAX_VOLUME_INDEX);
        }
        if (!DeltaFormat.isValidType(type)) {
            throw new IllegalArgumentException("record type " + type + " is not WRITE(1), WRITE_ZEROES(2) or TRIM(3)");
        }
        if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
            throw new IllegalArgumentException("extent offset " + offset + " length " + length
                    + " is negative or overflows");
        }
        if (type == WRITE) {
            if (data == null || data.remaining() != length) {
                throw new IllegalArgumentException("WRITE of length " + length + " has "
                        + (data == null ? "no data" : data.remaining() + " data bytes"));
            }
            if (length > MAX_INPUT_BYTES - dataLength) {
                throw new IllegalStateException("delta would exceed " + MAX_INPUT_BYTES
                        + " input bytes; encode it and begin the next one");
            }
        }
        if (recordCount == 0) {
            firstSeq = seq;
            firstCaptureNanos = captureNanos;
        }
        lastSeq = seq;
        lastCaptureNanos = captureNanos;
        recordCount++;
        if (length == 0) {
            return;
        }
        int dataPos = -1;
        if (type == WRITE) {
            int len = (int) length;
            ensureDataCapacity(dataLength + len);
            data.get(data.position(), this.data, dataLength, len);
            dataPos = dataLength;
            dataLength += len;
            inputBytes += len;
        }
        insert(volumeIndex, type, offset, length, dataPos);
    }

    public String group() {
        return group;
    }

    public long epoch() {
        return epoch;
    }

    /**
     * Makes the empty delta cover seqs {@code first..last} with no extent: seqs whose writes
     * travel by other means (folded into the agent's dirty map, resynced after).
     *
     * @throws IllegalStateException unless the delta is empty
     */
    public void coverSeqs(long first, long last, long captureNanos) {
        if (recordCount != 0) {
            throw new IllegalStateException("coverSeqs on a delta that holds records");
        }
        if (first < 1 || last < first) {
            throw new IllegalArgumentException("seq range " + first + ".." + last);
        }
        firstSeq = first;
        lastSeq = last;
        recordCount = 1;
        firstCaptureNanos = captureNanos;
        lastCaptureNanos = captureNanos;
    }

    public long firstSeq() {
        return firstSeq;
    }

    public long lastSeq() {
        return lastSeq;
    }

    public int recordCount() {
        return recordCount;
    }

    /** WRITE payload bytes added. */
    public long inputBytes() {
        return inputBytes;
    }

    /** WRITE payload bytes left after coalescing: what the delta carries before compression. */
    public long coalescedBytes() {
        return coalescedBytes;
    }

    /** Live extents after coalescing. */
    public int extentCount() {
        return extentCount;
    }

    public long firstCaptureNanos() {
        return firstCaptureNanos;
    }

    public long lastCaptureNanos() {
        return lastCaptureNanos;
    }

    public boolean isEmpty() {
        return recordCount == 0;
    }

    /** An upper bound of the DELTA body {@link #encode} would produce now, to cut deltas below the frame limit. */
    public long maxEncodedBodyBytes() {
        return FIXED_BODY_BYTES + (long) extentCount * DeltaFormat.EXTENT_BYTES
                + compressor.maxCompressedLength(dataLength);
    }

    /**
     * Encodes the delta as one whole DELTA frame (header included) in a new buffer from
     * {@code alloc} that the caller owns. The encoder keeps its content until {@link #begin}.
     *
     * @throws IllegalStateException if the delta is empty
     */
    public ByteBuf encode(ByteBufAllocator alloc) {
        if (recordCount == 0) {
            throw new IllegalStateException("encode of an empty delta");
        }
        int maxCompressed = compressor.maxCompressedLength(dataLength);
        ByteBuf out = alloc.buffer(Frames.HEADER_BYTES + FIXED_BODY_BYTES
                + extentCount * DeltaFormat.EXTENT_BYTES + maxCompressed);
        try {
            int frameStart = Frames.beginFrame(out, Frames.DELTA);
            WireCodec.writeName(out, group);
            out.writeLong(firstSeq);
            out.writeLong(lastSeq);
            out.writeLong(epoch);
            out.writeLong(firstCaptureNanos);
            out.writeLong(lastCaptureNanos);
            // Ship the data buffer as it is unless overwritten bytes make up more than 1/16 of it;
            // then gather the live bytes (in table order) so the dead ones do not travel.
            boolean inPlace = (dataLength - coalescedBytes) * 16 <= dataLength;
            int uncompressedLength = inPlace ? dataLength : (int) coalescedBytes;
            if (!inPlace && gather.length < uncompressedLength) {
                gather = new byte[Math.max(uncompressedLength, Math.min(MAX_INPUT_BYTES, gather.length * 2))];
                gatherView = ByteBuffer.wrap(gather);
            }
            out.writeInt(uncompressedLength);
            out.writeInt(extentCount);
            Arrays.sort(touched, 0, touchedCount);
            int gathered = 0;
            for (int i = 0; i < touchedCount; i++) {
                int volume = touched[i];
                int depth = 0;
                int node = roots[volume];
                while (node != NIL || depth > 0) {
                    while (node != NIL) {
                        if (depth == stack.length) {
                            stack = Arrays.copyOf(stack, depth * 2);
                        }
                        stack[depth++] = node;
                        node = nodeLeft[node];
                    }
                    node = stack[--depth];
                    int dataOffset = 0;
                    if (nodeType[node] == WRITE) {
                        if (inPlace) {
                            dataOffset = nodeDataPos[node];
                        } else {
                            int len = (int) nodeLength[node];
                            System.arraycopy(data, nodeDataPos[node], gather, gathered, len);
                            dataOffset = gathered;
                            gathered += len;
                        }
                    }
                    out.writeShort(volume);
                    out.writeByte(nodeType[node]);
                    out.writeByte(0);
                    out.writeInt(dataOffset);
                    out.writeLong(nodeOffset[node]);
                    out.writeLong(nodeLength[node]);
                    node = nodeRight[node];
                }
            }
            byte[] source = inPlace ? data : gather;
            ByteBuffer sourceView = inPlace ? dataView : gatherView;
            out.writeLong(xxHash.hash(source, 0, uncompressedLength, DeltaFormat.XXHASH_SEED));
            int flagsIndex = out.writerIndex();
            out.writeByte(0);
            int storedLengthIndex = out.writerIndex();
            out.writeInt(0);
            int dataStart = out.writerIndex();
            int compressedLength = uncompressedLength;
            if (uncompressedLength > 0) {
                out.ensureWritable(maxCompressed);
                ByteBuffer target = out.nioBuffer(dataStart, maxCompressed);
                compressedLength = compressor.compress(sourceView, 0, uncompressedLength,
                        target, target.position(), maxCompressed);
            }
            if (compressedLength < uncompressedLength) {
                out.setByte(flagsIndex, DeltaFormat.FLAG_LZ4);
                out.setInt(storedLengthIndex, compressedLength);
                out.writerIndex(dataStart + compressedLength);
            } else {
                out.setInt(storedLengthIndex, uncompressedLength);
                out.writeBytes(source, 0, uncompressedLength);
            }
            Frames.endFrame(out, frameStart);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    // ---- interval map ----

    private void insert(int volume, byte type, long start, long length, int dataPos) {
        long end = start + length;
        int root = rootOf(volume);

        split(root, start);
        int left = splitLeft;
        split(splitRight, end);
        int middle = splitLeft;
        int right = splitRight;

        int pred = last(left);
        if (pred != NIL) {
            long predEnd = nodeOffset[pred] + nodeLength[pred];
            if (predEnd > start) {
                if (predEnd > end) {
                    long tailDataPos = nodeType[pred] == WRITE ? nodeDataPos[pred] + (end - nodeOffset[pred]) : -1;
                    int tail = newNode(nodeType[pred], end, predEnd - end, (int) tailDataPos);
                    right = merge(tail, right);
                }
                if (nodeType[pred] == WRITE) {
                    coalescedBytes -= Math.min(predEnd, end) - start;
                }
                nodeLength[pred] = start - nodeOffset[pred];
            }
        }
        if (middle != NIL) {
            int last = last(middle);
            long lastEnd = nodeOffset[last] + nodeLength[last];
            if (lastEnd > end) {
                middle = removeLast(middle);
                long cut = end - nodeOffset[last];
                if (nodeType[last] == WRITE) {
                    coalescedBytes -= cut;
                    nodeDataPos[last] += (int) cut;
                }
                nodeOffset[last] = end;
                nodeLength[last] = lastEnd - end;
                nodeLeft[last] = NIL;
                nodeRight[last] = NIL;
                right = merge(last, right);
            }
            freeSubtree(middle);
        }

        if (pred != NIL && nodeType[pred] == type && nodeOffset[pred] + nodeLength[pred] == start
                && (type != WRITE || nodeDataPos[pred] + nodeLength[pred] == dataPos)) {
            nodeLength[pred] += length;
            root = merge(left, right);
        } else {
            int node = newNode(type, start, length, dataPos);
            root = merge(merge(left, node), right);
        }
        if (type == WRITE) {
            coalescedBytes += length;
        }
        roots[volume] = root;
    }

    private int rootOf(int volume) {
        if (volume >= roots.length) {
            int oldLength = roots.length;
            roots = Arrays.copyOf(roots, Math.max(volume + 1, Math.min(DeltaFormat.MAX_VOLUME_INDEX + 1, oldLength * 2)));
            Arrays.fill(roots, oldLength, roots.length, NIL);
        }
        int root = roots[volume];
        if (root == NIL && !isTouched(volume)) {
            if (touchedCount == touched.length) {
                touched = Arrays.copyOf(touched, touchedCount * 2);
            }
            touched[touchedCount++] = volume;
        }
        return root;
    }

    private boolean isTouched(int volume) {
        for (int i = 0; i < touchedCount; i++) {
            if (touched[i] == volume) {
                return true;
            }
        }
        return false;
    }

    /** Splits {@code t} into {@code splitLeft} (offsets &lt; key) and {@code splitRight} (offsets &gt;= key). */
    private void split(int t, long key) {
        if (t == NIL) {
            splitLeft = NIL;
            splitRight = NIL;
        } else if (nodeOffset[t] < key) {
            split(nodeRight[t], key);
            nodeRight[t] = splitLeft;
            splitLeft = t;
        } else {
            split(nodeLeft[t], key);
            nodeLeft[t] = splitRight;
            splitRight = t;
        }
    }

    /** Joins two treaps where every offset in {@code a} is below every offset in {@code b}. */
    private int merge(int a, int b) {
        if (a == NIL) {
            return b;
        }
        if (b == NIL) {
            return a;
        }
        if (nodePriority[a] > nodePriority[b]) {
            nodeRight[a] = merge(nodeRight[a], b);
            return a;
        }
        nodeLeft[b] = merge(a, nodeLeft[b]);
        return b;
    }

    private int last(int t) {
        if (t == NIL) {
            return NIL;
        }
        while (nodeRight[t] != NIL) {
            t = nodeRight[t];
        }
        return t;
    }

    private int removeLast(int t) {
        if (nodeRight[t] == NIL) {
            return nodeLeft[t];
        }
        nodeRight[t] = removeLast(nodeRight[t]);
        return t;
    }

    private void freeSubtree(int t) {
        if (t == NIL) {
            return;
        }
        freeSubtree(nodeLeft[t]);
        freeSubtree(nodeRight[t]);
        if (nodeType[t] == WRITE) {
            coalescedBytes -= nodeLength[t];
        }
        extentCount--;
        nodeLeft[t] = freeList;
        freeList = t;
    }

    private int newNode(byte type, long offset, long length, int dataPos) {
        int node;
        if (freeList != NIL) {
            node = freeList;
            freeList = nodeLeft[node];
        } else {
            if (nodesUsed == nodeOffset.length) {
                growNodes();
            }
            node = nodesUsed++;
        }
        nodeType[node] = type;
        nodeOffset[node] = offset;
        nodeLength[node] = length;
        nodeDataPos[node] = dataPos;
        nodeLeft[node] = NIL;
        nodeRight[node] = NIL;
        int x = priorityState;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        priorityState = x;
        nodePriority[node] = x;
        extentCount++;
        return node;
    }

    private void growNodes() {
        int n = nodeOffset.length * 2;
        nodeOffset = Arrays.copyOf(nodeOffset, n);
        nodeLength = Arrays.copyOf(nodeLength, n);
        nodeDataPos = Arrays.copyOf(nodeDataPos, n);
        nodeType = Arrays.copyOf(nodeType, n);
        nodeLeft = Arrays.copyOf(nodeLeft, n);
        nodeRight = Arrays.copyOf(nodeRight, n);
        nodePriority = Arrays.copyOf(nodePriority, n);
    }

    private void ensureDataCapacity(int needed) {
        if (needed > data.length) {
            long grown = Math.max(needed, (long) data.length * 2);
            data = Arrays.copyOf(data, (int) Math.min(grown, MAX_INPUT_BYTES));
            dataView = ByteBuffer.wrap(data);
        }
    }
}
