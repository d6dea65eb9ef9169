package io.ferry.receiver.session;

import io.netty.buffer.Unpooled;

/** Drives a {@link GroupLink} as a session would, for tests outside this package (status, metrics). */
public final class LinkDriver {

    private static final ReplicationSession SESSION = new ReplicationSession(new SessionContext("dr-1",
            java.util.Map.of(), java.util.Map.of(), SessionSettings.defaults(), ctx -> "test", Runnable::run));

    private LinkDriver() {
    }

    /** Marks the link connected, as an accepted HELLO does. */
    public static void connect(GroupLink link) {
        link.takeOver(SESSION);
    }

    public static void disconnect(GroupLink link) {
        link.release(SESSION);
    }

    /** Appends a delta of {@code bodyBytes} zero bytes covering {@code firstSeq..lastSeq}. */
    public static void append(GroupLink link, long firstSeq, long lastSeq, long firstCaptureNanos,
                              long lastCaptureNanos, int bodyBytes) {
        link.takeOver(SESSION);
        link.append(SESSION, Unpooled.buffer(bodyBytes).writeZero(bodyBytes), firstSeq, lastSeq, firstCaptureNanos,
                lastCaptureNanos, seq -> { });
    }
}
