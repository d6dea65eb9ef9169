package io.ferry.wire;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A consistency group as HELLO announces it: its name, the agent's generation id for it and its
 * volumes, in the order that gives each its volume index in DELTA frames (the first is 0).
 */
public record GroupHello(String name, long generationId, List<VolumeInfo> volumes) {

    public static final int MAX_VOLUMES = 1024;
    static final int MIN_WIRE_BYTES = 1 + 1 + 8 + 2;

    public GroupHello {
        WireCodec.checkName("group name", name);
        volumes = List.copyOf(volumes);
        if (volumes.size() > MAX_VOLUMES) {
            throw new IllegalArgumentException("group " + name + " has " + volumes.size()
                    + " volumes, the maximum is " + MAX_VOLUMES);
        }
        Set<String> seen = new HashSet<>();
        for (VolumeInfo v : volumes) {
            if (!seen.add(v.name())) {
                throw new IllegalArgumentException("group " + name + " lists volume " + v.name() + " twice");
            }
        }
    }
}
