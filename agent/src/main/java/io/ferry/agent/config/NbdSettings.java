package io.ferry.agent.config;

import io.ferry.config.HostPort;
import java.nio.file.Path;

/** Where the agent serves NBD: a TCP address, a Unix socket, or both (either may be null, not both). */
public record NbdSettings(HostPort listen, Path socket) {

    public NbdSettings {
        if (listen == null && socket == null) {
            throw new IllegalArgumentException("nbd needs listen, socket or both");
        }
    }
}
