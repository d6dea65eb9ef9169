package io.ferry.wire;

import io.ferry.generation.GenerationHistory;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A consistency group as HELLO announces it: its name, the agent's generation id for it and its
 * volumes, in the order that gives each its volume index in DELTA frames (the first is 0); the
 * agent's chain of generations and the last seq it captured, from which the receiver tells
 * whether the agent wrote past a promote (see {@link GenerationHistory#relate}).
 */
public record GroupHello(String name, long generationId, List<VolumeInfo> volumes, GenerationHistory history,
                         long lastSeq) {

    public static final int MAX_VOLUMES = 1024;
    static final int MIN_WIRE_BYTES = 1 + 1 + 8 + 2 + 2 + 16 + 8;

    /** A group with one generation since seq 0 that has written nothing yet. */
    public GroupHello(String name, long generationId, List<VolumeInfo> volumes) {
        this(name, generationId, volumes, GenerationHistory.of(generationId), 0);
    }

    public GroupHello {
        WireCodec.checkName("group name", name);
        volumes = List.copyOf(volumes);
        if (history.current().id() != generationId) {
            throw new IllegalArgumentException("group " + name + ": the history's newest generation "
                    + Long.toHexString(history.current().id()) + " is not the generation id "
                    + Long.toHexString(generationId));
        }
        if (lastSeq < 0) {
            throw new IllegalArgumentException("group " + name + " lastSeq is " + lastSeq + ", must be >= 0");
        }
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
