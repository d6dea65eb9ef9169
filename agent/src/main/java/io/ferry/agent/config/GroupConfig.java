package io.ferry.agent.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/** A consistency group: its volumes share one write sequence; {@code rpo} zero means synchronous replication. */
public record GroupConfig(String name, Duration rpo, List<VolumeConfig> volumes) {

    public GroupConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(rpo, "rpo");
        if (rpo.isNegative()) {
            throw new IllegalArgumentException("rpo must not be negative: " + rpo);
        }
        volumes = List.copyOf(volumes);
        if (volumes.isEmpty()) {
            throw new IllegalArgumentException("group " + name + " has no volumes");
        }
    }
}
