package io.ferry.nbd;

import java.util.Collection;

/**
 * The exports an {@link NbdServer} offers. Looked up on every negotiation (and on every LIST), so
 * an implementation may change its answer at runtime; a connection keeps the device it negotiated.
 * Implementations must be thread-safe: event-loop threads call them concurrently.
 */
public interface NbdExports {

    /** The device exported under {@code name}, or null when there is none. */
    BlockDevice find(String name);

    /** Names currently exported, as NBD_OPT_LIST reports them. */
    Collection<String> names();
}
