package io.ferry.agent.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One volume of a consistency group: its NBD export name, the backing file (absolute; created
 * sparse at {@code sizeBytes} when missing) and its size, a positive multiple of 512.
 */
public record VolumeConfig(String name, Path path, long sizeBytes) {

    public VolumeConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(path, "path");
        if (sizeBytes <= 0 || sizeBytes % 512 != 0) {
            throw new IllegalArgumentException("sizeBytes must be a positive multiple of 512: " + sizeBytes);
        }
    }
}
