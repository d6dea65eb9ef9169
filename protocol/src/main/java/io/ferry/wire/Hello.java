package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The agent's first frame: who it is, the protocol versions it speaks and the groups it wants
 * to ship. Body:
 *
 * <pre>
 *   name agentId; u8 minVersion; u8 maxVersion; u16 groupCount;
 *   groupCount x { name group; i64 generationId; u16 volumeCount; volumeCount x { name volume; i64 sizeBytes } }
 * </pre>
 */
public record Hello(String agentId, int minVersion, int maxVersion, List<GroupHello> groups) implements ControlMessage {

    public static final int MAX_GROUPS = 1024;
    private static final String MESSAGE = "HELLO";

    public Hello {
        WireCodec.checkName("agent id", agentId);
        if (minVersion < 1 || maxVersion > 255 || minVersion > maxVersion) {
            throw new IllegalArgumentException("versions " + minVersion + ".." + maxVersion
                    + " are not a range within 1..255");
        }
        groups = List.copyOf(groups);
        if (groups.size() > MAX_GROUPS) {
            throw new IllegalArgumentException(groups.size() + " groups, the maximum is " + MAX_GROUPS);
        }
        Set<String> seen = new HashSet<>();
        for (GroupHello g : groups) {
            if (!seen.add(g.name())) {
                throw new IllegalArgumentException("group " + g.name() + " is listed twice");
            }
        }
    }

    @Override
    public int frameType() {
        return Frames.HELLO;
    }

    @Override
    public ByteBuf encode(ByteBufAllocator alloc) {
        int estimate = Frames.HEADER_BYTES + 1 + agentId.length() + 4;
        for (GroupHello g : groups) {
            estimate += GroupHello.MIN_WIRE_BYTES + g.name().length()
                    + g.volumes().size() * (VolumeInfo.MIN_WIRE_BYTES + WireCodec.MAX_NAME_BYTES)
                    + 2 + 16 * g.history().entries().size() + 8;
        }
        ByteBuf out = alloc.buffer(estimate);
        int start = Frames.beginFrame(out, Frames.HELLO);
        WireCodec.writeName(out, agentId);
        out.writeByte(minVersion);
        out.writeByte(maxVersion);
        out.writeShort(groups.size());
        for (GroupHello g : groups) {
            WireCodec.writeName(out, g.name());
            out.writeLong(g.generationId());
            out.writeShort(g.volumes().size());
            for (VolumeInfo v : g.volumes()) {
                WireCodec.writeName(out, v.name());
                out.writeLong(v.sizeBytes());
            }
            WireCodec.writeHistory(out, g.history());
            out.writeLong(g.lastSeq());
        }
        Frames.endFrame(out, start);
        return out;
    }

    /** Decodes a HELLO body. @throws ProtocolException MALFORMED */
    public static Hello decode(ByteBuf body) {
        String agentId = WireCodec.readName(body, MESSAGE, "agentId");
        int minVersion = WireCodec.readUnsignedByte(body, MESSAGE, "minVersion");
        int maxVersion = WireCodec.readUnsignedByte(body, MESSAGE, "maxVersion");
        int groupCount = WireCodec.readCount(body, MAX_GROUPS, GroupHello.MIN_WIRE_BYTES, MESSAGE, "groupCount");
        List<GroupHello> groups = new ArrayList<>(groupCount);
        for (int g = 0; g < groupCount; g++) {
            String field = "groups[" + g + "]";
            String name = WireCodec.readName(body, MESSAGE, field + ".name");
            long generationId = WireCodec.readLong(body, MESSAGE, field + ".generationId");
            int volumeCount = WireCodec.readCount(body, GroupHello.MAX_VOLUMES, VolumeInfo.MIN_WIRE_BYTES,
                    MESSAGE, field + ".volumeCount");
            List<VolumeInfo> volumes = new ArrayList<>(volumeCount);
            for (int v = 0; v < volumeCount; v++) {
                String volumeField = field + ".volumes[" + v + "]";
                String volume = WireCodec.readName(body, MESSAGE, volumeField + ".name");
                long sizeBytes = WireCodec.readNonNegativeLong(body, MESSAGE, volumeField + ".sizeBytes");
                volumes.add(new VolumeInfo(volume, sizeBytes));
            }
            var history = WireCodec.readHistory(body, MESSAGE, field + ".history");
            long lastSeq = WireCodec.readNonNegativeLong(body, MESSAGE, field + ".lastSeq");
            try {
                groups.add(new GroupHello(name, generationId, volumes, history, lastSeq));
            } catch (IllegalArgumentException e) {
                throw WireCodec.malformed(MESSAGE, e.getMessage());
            }
        }
        WireCodec.expectEnd(body, MESSAGE);
        try {
            return new Hello(agentId, minVersion, maxVersion, groups);
        } catch (IllegalArgumentException e) {
            throw WireCodec.malformed(MESSAGE, e.getMessage());
        }
    }
}
