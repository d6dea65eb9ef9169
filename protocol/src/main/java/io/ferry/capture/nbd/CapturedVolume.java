package io.ferry.capture.nbd;

import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.volume.VolumeFile;
import io.ferry.nbd.BlockDevice;
import io.ferry.nbd.IoCompletion;
import io.ferry.nbd.NbdErrors;
import io.netty.buffer.ByteBuf;
import java.io.IOException;

/**
 * One protected volume as the NBD server sees it: reads go straight to the backing file (every
 * answered write is already there), everything that changes data goes through the group's
 * {@link WritePipeline} so it is sequenced and journaled first.
 *
 * <p>Reads run on the calling event loop as positional reads served from the page cache, as
 * qemu-nbd and nbdkit do; writes, zeroing and syncs never do. Each NBD connection gets its own
 * view ({@link #forConnection}) that enters the ring through a
 * {@link WritePipeline.Producer}: when the group's ring is full that connection stops reading
 * until the ring has room, and the event loop goes on serving every other connection.
 */
public final class CapturedVolume implements BlockDevice {
    /** Bounds one BLOCK_STATUS reply. */
    private static final int MAX_EXTENTS = 1024;

    private final String name;
    private final int index;
    private final VolumeFile file;
    private final WritePipeline pipeline;

    public CapturedVolume(String name, int index, VolumeFile file, WritePipeline pipeline) {
        this.name = name;
        this.index = index;
        this.file = file;
        this.pipeline = pipeline;
    }

    public String name() {
        return name;
    }

    @Override
    public long sizeBytes() {
        return file.sizeBytes();
    }

    /** Read-only once the group is fenced (promoted at the DR site): new connections get the flag. */
    @Override
    public boolean isReadOnly() {
        return pipeline.fenced();
    }

    /** A FLUSH goes through the group's ring behind every answered write, from any connection. */
    @Override
    public boolean flushCoversAllConnections() {
        return true;
    }

    @Override
    public void read(long offset, int length, ByteBuf dst, IoCompletion done) {
        try {
            file.read(offset, length, dst);
            done.complete(NbdErrors.OK);
        } catch (IOException | RuntimeException e) {
            done.complete(NbdErrors.EIO);
        }
    }

    @Override
    public void write(long offset, ByteBuf data, boolean fua, IoCompletion done) {
        pipeline.submitWrite(index, offset, data, fua, done);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean fua, IoCompletion done) {
        pipeline.submitWriteZeroes(index, offset, length, fua, done);
    }

    @Override
    public void trim(long offset, long length, boolean fua, IoCompletion done) {
        pipeline.submitTrim(index, offset, length, fua, done);
    }

    /** Holes read as zeroes, so they are reported as HOLE|ZERO; qemu and nbdcopy then skip them. */
    @Override
    public void blockStatus(long offset, long length, ExtentSink sink) {
        file.allocation(offset, length, MAX_EXTENTS, (runBytes, hole) -> sink.extent(runBytes, hole ? 3 : 0));
    }

    @Override
    public boolean canZeroFast() {
        return file.punchesHoles();
    }

    @Override
    public void flush(IoCompletion done) {
        pipeline.submitFlush(done);
    }

    @Override
    public BlockDevice forConnection(ConnectionFlow flow) {
        return new Connection(pipeline.producer(flow));
    }

    /** This volume as one NBD connection sees it: changes go through the connection's producer. */
    private final class Connection implements BlockDevice {
        private final WritePipeline.Producer producer;

        Connection(WritePipeline.Producer producer) {
            this.producer = producer;
        }

        @Override
        public long sizeBytes() {
            return CapturedVolume.this.sizeBytes();
        }

        @Override
        public boolean isReadOnly() {
            return CapturedVolume.this.isReadOnly();
        }

        @Override
        public boolean flushCoversAllConnections() {
            return true;
        }

        @Override
        public boolean canZeroFast() {
            return CapturedVolume.this.canZeroFast();
        }

        @Override
        public void read(long offset, int length, ByteBuf dst, IoCompletion done) {
            CapturedVolume.this.read(offset, length, dst, done);
        }

        @Override
        public void blockStatus(long offset, long length, ExtentSink sink) {
            CapturedVolume.this.blockStatus(offset, length, sink);
        }

        @Override
        public void write(long offset, ByteBuf data, boolean fua, IoCompletion done) {
            producer.submitWrite(index, offset, data, fua, done);
        }

        @Override
        public void writeZeroes(long offset, long length, boolean fua, IoCompletion done) {
            producer.submitWriteZeroes(index, offset, length, fua, done);
        }

        @Override
        public void trim(long offset, long length, boolean fua, IoCompletion done) {
            producer.submitTrim(index, offset, length, fua, done);
        }

        @Override
        public void flush(IoCompletion done) {
            producer.submitFlush(done);
        }
    }
}
