package io.ferry.capture.pipeline;

import io.ferry.nbd.IoCompletion;

/**
 * Synchronous replication (rpo 0s): holds a write's answer until the receiver has its seq
 * durable. Called on the pipeline thread; completes on whatever thread learns of the ACK.
 */
public interface AckGate {
    void completeWhenAcked(long seq, IoCompletion done);
}
