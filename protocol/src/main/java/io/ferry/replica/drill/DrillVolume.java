package io.ferry.replica.drill;

import io.ferry.nbd.BlockDevice;
import io.ferry.nbd.IoCompletion;
import io.ferry.nbd.NbdErrors;
import io.ferry.volume.VolumeFile;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.roaringbitmap.RoaringBitmap;

/**
 * A writable copy-on-write clone of one replica volume, exported over NBD during a disaster
 * recovery drill while replication keeps writing the replica underneath (a classic snapshot, as
 * LVM does it). The clone is frozen at the moment it was created; {@link #restore} can move it
 * further back in time from undo records.
 *
 * <p>Storage: the clone's data for a 4 KiB block lives either in the replica (the block is
 * unchanged since the freeze and the clone never wrote it) or in a sparse scratch file of the
 * replica's size, at the same offset. An in-memory bitmap marks the blocks that live in scratch
 * ("owned"). A block only ever goes from replica to owned, never back. The last block is short
 * when the size is not a multiple of 4 KiB. Nothing about the clone survives a restart: the
 * bitmap is in memory and {@link #create} deletes a leftover scratch file.
 *
 * <p>Threads and locking (one {@link ReentrantReadWriteLock} guards the bitmap, the copy buffer
 * and the counters):
 * <ul>
 *   <li>Clone reads (NBD event loops, concurrently) hold the read lock across "look up the
 *       bitmap, then read the replica or scratch", so a replica block read as not owned cannot be
 *       overwritten before the read finishes.</li>
 *   <li>The applier thread calls {@link #preserve} BEFORE it overwrites a replica range; preserve
 *       takes the write lock, copies every not-yet-owned block of the range from the replica into
 *       scratch and marks it owned. The applier then writes the replica outside this lock: from
 *       here on every reader finds those blocks owned and never looks at the replica for them.
 *       Hence the rule for callers: the replica must never be changed in a range that was not
 *       preserved first while the drill runs.</li>
 *   <li>Clone writes, zeroes and trims (event loops) and {@link #restore} (the drill's owner,
 *       while the applier is paused) take the write lock, copy a partially covered not-owned
 *       block from the replica first, write scratch, then mark the blocks owned.</li>
 * </ul>
 * Every device request (read, write, zeroes, trim, flush) runs on the clone's I/O executor, a
 * drill worker thread in the daemon, never on the NBD event loop that asked: the loop would
 * otherwise wait on the lock that {@link #preserve} holds across disk copies, and on the
 * scratch file's syncs ({@link #flush} and FUA). The request's {@link IoCompletion} is called
 * from that thread when it is done, and the NBD reply goes out then. One executor thread keeps
 * the requests in arrival order.
 *
 * <p>The clone does not own the replica: {@link #close} deletes the scratch file and leaves the
 * replica open.
 */
public final class DrillVolume implements BlockDevice, AutoCloseable {

    static final int BLOCK_SHIFT = 12;
    static final int BLOCK_BYTES = 1 << BLOCK_SHIFT;
    /** Copies from replica to scratch go through one buffer of this size, a chunk at a time. */
    private static final int COPY_CHUNK_BYTES = 1 << 20;
    /** The bitmap holds unsigned 32-bit block numbers; one value is left for "past the end". */
    private static final long MAX_BLOCKS = (1L << 32) - 1;

    private final VolumeFile replica;
    private final VolumeFile scratch;
    private final Path scratchPath;
    private final long sizeBytes;
    private final long blockCount;
    private final Executor io;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** Blocks whose clone data lives in scratch; guarded by {@link #lock}. */
    private final RoaringBitmap owned = new RoaringBitmap();
    /** Guarded by the write lock. */
    private final ByteBuffer copyBuffer = ByteBuffer.allocateDirect(COPY_CHUNK_BYTES);
    /** Guarded by {@link #lock} (written under the write lock). */
    private long preservedBytes;
    /** Written under the write lock; volatile so {@link #flush} can check it without the lock. */
    private volatile boolean closed;

    private DrillVolume(VolumeFile replica, VolumeFile scratch, Path scratchPath, Executor io) {
        this.io = io;
        this.replica = replica;
        this.scratch = scratch;
        this.scratchPath = scratchPath;
        this.sizeBytes = replica.sizeBytes();
        this.blockCount = (sizeBytes + BLOCK_BYTES - 1) >>> BLOCK_SHIFT;
    }

    /**
     * Creates a clone of {@code replica} as it is now, with its scratch space in a new sparse file
     * {@code scratchFile} (a leftover file there, from a drill that was not stopped, is deleted
     * first). The replica stays owned by the caller. Device requests run on the caller's thread
     * (for tests; the daemon gives an executor).
     */
    public static DrillVolume create(VolumeFile replica, Path scratchFile) throws IOException {
        return create(replica, scratchFile, Runnable::run);
    }

    /**
     * As {@link #create(VolumeFile, Path)}, device requests running on {@code io} (a worker
     * thread: see the class comment); a request {@code io} rejects completes with ESHUTDOWN.
     */
    public static DrillVolume create(VolumeFile replica, Path scratchFile, Executor io) throws IOException {
        long sizeBytes = replica.sizeBytes();
        if (sizeBytes <= 0) {
            throw new IllegalArgumentException("replica " + replica.path() + " has no bytes to clone");
        }
        if (((sizeBytes + BLOCK_BYTES - 1) >>> BLOCK_SHIFT) > MAX_BLOCKS) {
            throw new IllegalArgumentException("replica " + replica.path() + " is " + sizeBytes
                    + " bytes; drill clones support volumes up to " + MAX_BLOCKS * BLOCK_BYTES + " bytes");
        }
        Path replicaPath = replica.path().toAbsolutePath().normalize();
        Path scratchPath = scratchFile.toAbsolutePath().normalize();
        if (scratchPath.equals(replicaPath)
                || (Files.exists(scratchPath) && Files.isSameFile(scratchPath, replicaPath))) {
            throw new IllegalArgumentException("drill scratch file " + scratchFile
                    + " is the replica itself; choose a scratch path outside the replica images");
        }
        Files.deleteIfExists(scratchPath);
        VolumeFile scratch = VolumeFile.openOrCreate(scratchPath, sizeBytes);
        return new DrillVolume(replica, scratch, scratchPath, io);
    }

    public Path scratchPath() {
        return scratchPath;
    }

    /** Bytes the clone keeps in scratch (owned blocks × 4 KiB; the scratch file is sparse). */
    public long scratchBytes() {
        lock.readLock().lock();
        try {
            return owned.getLongCardinality() * BLOCK_BYTES;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Bytes {@link #preserve} copied from the replica into scratch so far. */
    public long preservedBytes() {
        lock.readLock().lock();
        try {
            return preservedBytes;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Keeps the clone's view of {@code [offset, offset + length)}: copies every block of the range
     * the clone does not own yet from the replica into scratch. The applier thread calls this
     * BEFORE it overwrites that range of the replica, and writes the replica only after it
     * returns.
     *
     * @throws IllegalStateException once the clone is closed
     */
    public void preserve(long offset, long length) throws IOException {
        checkRange(offset, length);
        if (length == 0) {
            return;
        }
        lock.writeLock().lock();
        try {
            checkOpenForOwner();
            long last = (offset + length - 1) >>> BLOCK_SHIFT;
            long block = offset >>> BLOCK_SHIFT;
            while (block <= last) {
                long runStart = nextBlock(block, false, last + 1);
                if (runStart > last) {
                    break;
                }
                long runEnd = nextBlock(runStart, true, last + 1);
                long fromBytes = runStart << BLOCK_SHIFT;
                long toBytes = blockEndBytes(runEnd - 1);
                copyFromReplica(fromBytes, toBytes);
                owned.add(runStart, runEnd);
                preservedBytes += toBytes - fromBytes;
                block = runEnd;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Makes the clone read {@code data}'s remaining bytes at {@code offset} (its position is left
     * unchanged). Used to move the clone back in time by applying undo records (pre-images)
     * newest to oldest while the applier is paused; a later call overwrites an earlier one.
     *
     * @throws IllegalStateException once the clone is closed
     */
    public void restore(long offset, ByteBuffer data) throws IOException {
        long length = data.remaining();
        checkRange(offset, length);
        if (length == 0) {
            return;
        }
        lock.writeLock().lock();
        try {
            checkOpenForOwner();
            copyPartialEdges(offset, length);
            scratch.write(offset, data);
            markOwned(offset, length);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Like {@link #restore} for an undo record whose pre-image is all zeroes. */
    public void restoreZeroes(long offset, long length) throws IOException {
        checkRange(offset, length);
        if (length == 0) {
            return;
        }
        lock.writeLock().lock();
        try {
            checkOpenForOwner();
            zeroLocked(offset, length);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
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
    public void read(long offset, int length, ByteBuf dst, IoCompletion done) {
        try {
            io.execute(() -> readNow(offset, length, dst, done));
        } catch (RejectedExecutionException e) {
            done.complete(NbdErrors.ESHUTDOWN);
        }
    }

    private void readNow(long offset, int length, ByteBuf dst, IoCompletion done) {
        int errno = NbdErrors.OK;
        int start = dst.writerIndex();
        dst.ensureWritable(length);
        lock.readLock().lock();
        try {
            checkOpen();
            long end = offset + length;
            long position = offset;
            while (position < end) {
                long block = position >>> BLOCK_SHIFT;
                boolean inScratch = owned.contains((int) block);
                long runEndBlock = nextBlock(block, !inScratch, blockCount);
                long runEnd = Math.min(end, runEndBlock << BLOCK_SHIFT);
                readInto(inScratch ? scratch : replica, position, dst,
                        start + (int) (position - offset), (int) (runEnd - position));
                position = runEnd;
            }
        } catch (IOException e) {
            errno = errnoOf(e);
        } finally {
            lock.readLock().unlock();
        }
        if (errno == NbdErrors.OK) {
            dst.writerIndex(start + length);
        }
        done.complete(errno);
    }

    @Override
    public void write(long offset, ByteBuf data, boolean fua, IoCompletion done) {
        try {
            io.execute(() -> writeNow(offset, data, fua, done));
        } catch (RejectedExecutionException e) {
            data.release();
            done.complete(NbdErrors.ESHUTDOWN);
        }
    }

    private void writeNow(long offset, ByteBuf data, boolean fua, IoCompletion done) {
        int errno = NbdErrors.OK;
        try {
            int length = data.readableBytes();
            if (length > 0) {
                lock.writeLock().lock();
                try {
                    checkOpen();
                    copyPartialEdges(offset, length);
                    writeFrom(data, offset);
                    markOwned(offset, length);
                } finally {
                    lock.writeLock().unlock();
                }
            }
            if (fua) {
                scratch.force();
            }
        } catch (IOException e) {
            errno = errnoOf(e);
        } finally {
            data.release();
        }
        done.complete(errno);
    }

    /** Zeroes the clone only: the scratch range is hole-punched where it can be, never allocated at its length. */
    @Override
    public void writeZeroes(long offset, long length, boolean fua, IoCompletion done) {
        try {
            io.execute(() -> writeZeroesNow(offset, length, fua, done));
        } catch (RejectedExecutionException e) {
            done.complete(NbdErrors.ESHUTDOWN);
        }
    }

    private void writeZeroesNow(long offset, long length, boolean fua, IoCompletion done) {
        int errno = NbdErrors.OK;
        try {
            if (length > 0) {
                lock.writeLock().lock();
                try {
                    checkOpen();
                    zeroLocked(offset, length);
                } finally {
                    lock.writeLock().unlock();
                }
            }
            if (fua) {
                scratch.force();
            }
        } catch (IOException e) {
            errno = errnoOf(e);
        }
        done.complete(errno);
    }

    /** A trimmed range of the clone reads back as zeroes (it must not show the replica's newer data). */
    @Override
    public void trim(long offset, long length, boolean fua, IoCompletion done) {
        writeZeroes(offset, length, fua, done);
    }

    /**
     * Syncs the scratch file. The clone is discarded when the drill stops (and on restart), so
     * this durability lasts only as long as the drill.
     */
    @Override
    public void flush(IoCompletion done) {
        try {
            io.execute(() -> flushNow(done));
        } catch (RejectedExecutionException e) {
            done.complete(NbdErrors.ESHUTDOWN);
        }
    }

    private void flushNow(IoCompletion done) {
        int errno = NbdErrors.OK;
        try {
            checkOpen();
            scratch.force();
        } catch (IOException e) {
            errno = errnoOf(e);
        }
        done.complete(errno);
    }

    /**
     * Discards the clone: closes and deletes the scratch file. The replica stays open. Idempotent;
     * afterwards device requests complete with EIO and the owner's calls throw
     * IllegalStateException.
     */
    @Override
    public void close() throws IOException {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                scratch.close();
            } catch (UncheckedIOException e) {
                // Deleting matters more than a clean close of a file nobody reads again.
                Files.deleteIfExists(scratchPath);
                throw e.getCause();
            }
            Files.deleteIfExists(scratchPath);
            owned.clear();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Before a clone write of {@code [offset, offset + length)}: a first or last block the write
     * covers only partly, and that the clone does not own yet, is copied from the replica so the
     * bytes the write leaves alone stay the clone's. Fully covered blocks need no copy. Holds the
     * write lock.
     */
    private void copyPartialEdges(long offset, long length) throws IOException {
        long end = offset + length;
        long first = offset >>> BLOCK_SHIFT;
        long last = (end - 1) >>> BLOCK_SHIFT;
        if (isPartial(first, offset, end) && !owned.contains((int) first)) {
            copyFromReplica(first << BLOCK_SHIFT, blockEndBytes(first));
        }
        if (last != first && isPartial(last, offset, end) && !owned.contains((int) last)) {
            copyFromReplica(last << BLOCK_SHIFT, blockEndBytes(last));
        }
    }

    private void zeroLocked(long offset, long length) throws IOException {
        copyPartialEdges(offset, length);
        scratch.zero(offset, length);
        markOwned(offset, length);
    }

    private boolean isPartial(long block, long offset, long end) {
        return offset > (block << BLOCK_SHIFT) || end < blockEndBytes(block);
    }

    private void markOwned(long offset, long length) {
        owned.add(offset >>> BLOCK_SHIFT, ((offset + length - 1) >>> BLOCK_SHIFT) + 1);
    }

    /** Copies replica bytes {@code [fromBytes, toBytes)} into scratch through the copy buffer. Holds the write lock. */
    private void copyFromReplica(long fromBytes, long toBytes) throws IOException {
        long position = fromBytes;
        while (position < toBytes) {
            int chunk = (int) Math.min(COPY_CHUNK_BYTES, toBytes - position);
            copyBuffer.clear().limit(chunk);
            replica.read(position, copyBuffer);
            copyBuffer.flip();
            scratch.write(position, copyBuffer);
            position += chunk;
        }
    }

    /**
     * The first block at or after {@code block} that is owned ({@code wantOwned}) or not owned
     * ({@code !wantOwned}), or {@code limit} when there is none before it.
     */
    private long nextBlock(long block, boolean wantOwned, long limit) {
        long next = wantOwned ? owned.nextValue((int) block) : owned.nextAbsentValue((int) block);
        return next < 0 ? limit : Math.min(next, limit);
    }

    private long blockEndBytes(long block) {
        return Math.min(sizeBytes, (block + 1) << BLOCK_SHIFT);
    }

    private static void readInto(VolumeFile source, long position, ByteBuf dst, int index, int length)
            throws IOException {
        if (dst.nioBufferCount() == 1) {
            source.read(position, dst.nioBuffer(index, length));
            return;
        }
        long at = position;
        for (ByteBuffer part : dst.nioBuffers(index, length)) {
            int n = part.remaining();
            source.read(at, part);
            at += n;
        }
    }

    private void writeFrom(ByteBuf data, long offset) throws IOException {
        int index = data.readerIndex();
        int length = data.readableBytes();
        if (data.nioBufferCount() == 1) {
            scratch.write(offset, data.nioBuffer(index, length));
            return;
        }
        long at = offset;
        for (ByteBuffer part : data.nioBuffers(index, length)) {
            scratch.write(at, part);
            at += part.remaining();
        }
    }

    private void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || offset > sizeBytes - length) {
            throw new IllegalArgumentException("range [" + offset + ", +" + length + ") is outside the "
                    + sizeBytes + "-byte volume " + replica.path());
        }
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new IOException("drill clone of " + replica.path() + " is closed");
        }
    }

    private void checkOpenForOwner() {
        if (closed) {
            throw new IllegalStateException("drill clone of " + replica.path()
                    + " is closed; the drill was stopped");
        }
    }

    private static int errnoOf(IOException e) {
        String message = e.getMessage();
        if (message != null && message.contains("No space left")) {
            return NbdErrors.ENOSPC;
        }
        return NbdErrors.EIO;
    }
}
