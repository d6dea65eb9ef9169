package io.ferry.capture.pipeline;

import io.ferry.nbd.IoCompletion;
import io.netty.buffer.ByteBuf;

/** A preallocated ring slot: one request on its way through a group's pipeline. */
final class WriteEvent {
    static final byte WRITE = 1;
    static final byte WRITE_ZEROES = 2;
    static final byte TRIM = 3;
    static final byte FLUSH = 4;
    /** Work run on the pipeline thread between two writes ({@link WritePipeline.InOrder}). */
    static final byte IN_ORDER = 5;

    byte op;
    int volume;
    long offset;
    long length;
    boolean fua;
    ByteBuf data;
    IoCompletion done;
    WritePipeline.InOrder work;

    void set(byte op, int volume, long offset, long length, boolean fua, ByteBuf data, IoCompletion done) {
        this.op = op;
        this.volume = volume;
        this.offset = offset;
        this.length = length;
        this.fua = fua;
        this.data = data;
        this.done = done;
    }

    void clear() {
        data = null;
        done = null;
        work = null;
    }
}
