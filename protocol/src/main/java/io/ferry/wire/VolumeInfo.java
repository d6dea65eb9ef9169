package io.ferry.wire;

/** A volume of a group as HELLO announces it: its name and size. */
public record VolumeInfo(String name, long sizeBytes) {

    static final int MIN_WIRE_BYTES = 1 + 1 + 8;

    public VolumeInfo {
        WireCodec.checkName("volume name", name);
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("volume " + name + " sizeBytes is " + sizeBytes + ", must be >= 0");
        }
    }
}
