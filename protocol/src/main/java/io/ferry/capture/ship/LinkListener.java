package io.ferry.capture.ship;

import io.ferry.wire.Ack;
import io.ferry.wire.HelloAck;

/**
 * What the receiver link reports, from its event loop. Each report carries the id of the
 * connection it came from, so a listener can drop late reports of a connection already gone.
 */
interface LinkListener {
    void onHelloAck(long connectionId, HelloAck helloAck);

    void onAck(long connectionId, Ack ack);

    /** The receiver's answer to a sync's HASHES. */
    default void onDiff(long connectionId, io.ferry.wire.BlockDiff diff) {
    }

    void onDisconnected(long connectionId, String reason);
}
