package io.ferry.capture.ship;

import io.ferry.wire.Hello;
import io.netty.buffer.ByteBuf;
import java.util.function.Supplier;

/**
 * What the shipper needs of its connection to the receiver: {@link ReceiverLink} (TLS over
 * Netty) in the daemon, a fake in tests. The link reports HELLO_ACKs, ACKs and losses to its
 * {@link LinkListener}, each tagged with the id of the connection it came from.
 */
interface Link extends AutoCloseable {

    /** Builds a link that greets the receiver with {@code hello} and reports to {@code listener}. */
    @FunctionalInterface
    interface Factory {
        Link create(Supplier<Hello> hello, LinkListener listener);
    }

    /** Starts connecting (and reconnecting after every loss). */
    void start();

    /** True once the receiver answered HELLO on the current connection. */
    boolean isReady();

    /** Why the link is down (or was last lost). */
    String lastProblem();

    /**
     * Sends a whole frame on connection {@code connectionId}; takes ownership of {@code frame}.
     * Dropped (and released) when that connection is gone. Any thread.
     */
    void send(long connectionId, ByteBuf frame);

    @Override
    void close();
}
