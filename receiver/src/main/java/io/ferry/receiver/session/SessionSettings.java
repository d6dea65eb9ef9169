package io.ferry.receiver.session;

import io.ferry.wire.Frames;
import io.ferry.wire.HelloAck;
import java.time.Duration;
import java.util.Objects;

/**
 * Limits of a replication session.
 *
 * @param helloTimeout how long a connection may take from accept to HELLO_ACK (TLS handshake,
 *        HELLO, attaching the volumes) before it is closed
 * @param maxHelloBytes the largest frame body accepted before HELLO_ACK
 * @param maxFrameBytes the largest frame body accepted after HELLO_ACK (announced in it)
 * @param maxDeltaBytes the largest uncompressed WRITE data of one DELTA
 * @param maxQueuedAppendBytes a group's DELTA bytes waiting for its journal above which the
 *        session stops reading until they are durable
 */
public record SessionSettings(Duration helloTimeout, int maxHelloBytes, int maxFrameBytes, int maxDeltaBytes,
                              long maxQueuedAppendBytes) {

    public static final Duration DEFAULT_HELLO_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_MAX_HELLO_BYTES = 1 << 20;
    public static final int DEFAULT_MAX_DELTA_BYTES = 64 << 20;
    public static final long DEFAULT_MAX_QUEUED_APPEND_BYTES = 64L << 20;

    public SessionSettings {
        Objects.requireNonNull(helloTimeout, "helloTimeout");
        if (helloTimeout.isNegative() || helloTimeout.isZero()) {
            throw new IllegalArgumentException("helloTimeout must be positive, was " + helloTimeout);
        }
        if (maxHelloBytes < 1024) {
            throw new IllegalArgumentException("maxHelloBytes must be at least 1024, was " + maxHelloBytes);
        }
        if (maxFrameBytes < HelloAck.MIN_MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("maxFrameBytes must be at least " + HelloAck.MIN_MAX_FRAME_BYTES
                    + ", was " + maxFrameBytes);
        }
        if (maxDeltaBytes < 0 || maxQueuedAppendBytes < 0) {
            throw new IllegalArgumentException("maxDeltaBytes and maxQueuedAppendBytes must be >= 0");
        }
    }

    public static SessionSettings defaults() {
        return new SessionSettings(DEFAULT_HELLO_TIMEOUT, DEFAULT_MAX_HELLO_BYTES, Frames.DEFAULT_MAX_FRAME_BYTES,
                DEFAULT_MAX_DELTA_BYTES, DEFAULT_MAX_QUEUED_APPEND_BYTES);
    }
}
