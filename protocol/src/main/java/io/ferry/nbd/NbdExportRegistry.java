package io.ferry.nbd;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.regex.Pattern;

/**
 * A thread-safe, mutable set of exports: add and remove at runtime (for example on promote),
 * and connections negotiated afterwards see the change. Established connections keep the device
 * they negotiated.
 */
public final class NbdExportRegistry implements NbdExports {

    private static final Pattern VALID_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private final ConcurrentSkipListMap<String, BlockDevice> devices = new ConcurrentSkipListMap<>();

    /** Exports {@code device} as {@code name}, replacing any earlier device of that name. */
    public NbdExportRegistry put(String name, BlockDevice device) {
        Objects.requireNonNull(device, "device");
        if (name == null || !VALID_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid NBD export name '" + name
                    + "': use 1 to 64 characters of [A-Za-z0-9._-]");
        }
        devices.put(name, device);
        return this;
    }

    /** Stops offering {@code name} to new connections; returns the device it had, or null. */
    public BlockDevice remove(String name) {
        return devices.remove(name);
    }

    @Override
    public BlockDevice find(String name) {
        return devices.get(name);
    }

    @Override
    public Collection<String> names() {
        return List.copyOf(devices.keySet());
    }
}
