package io.ferry.receiver.store;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ferry.wire.VolumeInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/**
 * The persisted state of one group at the DR site, {@code <dataDir>/groups/<group>/state.json}:
 * its generation id, the volumes the agent announced, the applied seq and, once promoted, when
 * (a promoted group takes no more deltas and keeps its new generation id). Every change is
 * written whole to a temp file, fsynced, renamed over the old one and the directory fsynced, so
 * after a crash the file is either the old or the new state.
 *
 * <p>Thread-safe: changes come from the session (volumes) and the applier (applied seq) and are
 * serialised on this object.
 */
final class GroupState {
    static final String FILE = "state.json";
    static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final String group;
    private long generationId;
    private final long createdEpochNanos;
    private long promotedEpochNanos;
    private List<VolumeInfo> volumes;
    private long appliedSeq;
    private long appliedCaptureNanos;
    /** The seq a promote to an earlier point rolls back to, persisted before the rollback starts; -1 when none. */
    private long promotingToSeq = -1;

    private GroupState(Path file, String group, long generationId, long createdEpochNanos, List<VolumeInfo> volumes,
            long appliedSeq, long appliedCaptureNanos, long promotedEpochNanos) {
        this.file = file;
        this.promotedEpochNanos = promotedEpochNanos;
        this.group = group;
        this.generationId = generationId;
        this.createdEpochNanos = createdEpochNanos;
        this.volumes = List.copyOf(volumes);
        this.appliedSeq = appliedSeq;
        this.appliedCaptureNanos = appliedCaptureNanos;
    }

    /** Reads the state in {@code dir}, or creates and persists a new one with a random generation id. */
    static GroupState loadOrCreate(Path dir, String group, long nowEpochNanos) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(FILE);
        try {
            return read(file, group);
        } catch (NoSuchFileException e) {
            GroupState state = new GroupState(file, group, newGenerationId(), nowEpochNanos, List.of(), 0, 0, 0);
            state.persist();
            return state;
        }
    }

    private static long newGenerationId() {
        SecureRandom random = new SecureRandom();
        long id;
        do {
            id = random.nextLong();
        } while (id == 0);
        return id;
    }

    static GroupState read(Path file, String group) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            JsonNode root = JSON.readTree(bytes);
            int format = required(root, "format", file).asInt();
            if (format != FORMAT) {
                throw new IOException("group state " + file + " has format " + format + ", this receiver reads format "
                        + FORMAT);
            }
            String stored = required(root, "group", file).asText();
            if (!stored.equals(group)) {
                throw new IOException("group state " + file + " belongs to group \"" + stored + "\", not \"" + group
                        + "\"; each group needs its own directory");
            }
            List<VolumeInfo> volumes = new ArrayList<>();
            for (JsonNode v : required(root, "volumes", file)) {
                volumes.add(new VolumeInfo(required(v, "name", file).asText(), required(v, "sizeBytes", file).asLong()));
            }
            GroupState state = new GroupState(file, group, required(root, "generationId", file).asLong(),
                    root.path("createdEpochNanos").asLong(), volumes, required(root, "appliedSeq", file).asLong(),
                    root.path("appliedCaptureNanos").asLong(), root.path("promotedEpochNanos").asLong());
            state.promotingToSeq = root.path("promotingToSeq").asLong(-1);
            return state;
        } catch (JacksonException | IllegalArgumentException e) {
            throw new IOException("group state " + file + " is not readable (" + e.getMessage()
                    + "); restore it or move the group's directory aside to start the group over", e);
        }
    }

    private static JsonNode required(JsonNode node, String field, Path file) throws IOException {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw new IOException("group state " + file + " lacks the field \"" + field
                    + "\"; restore it or move the group's directory aside to start the group over");
        }
        return value;
    }

    synchronized long generationId() {
        return generationId;
    }

    /** When the group was promoted (epoch nanos); 0 while it replicates. */
    synchronized long promotedEpochNanos() {
        return promotedEpochNanos;
    }

    /**
     * Persists the group as promoted at {@code nowEpochNanos} with a new random generation id, in
     * one atomic write: after a crash the file says either replicating (old id) or promoted (new id).
     *
     * @return the new generation id
     */
    synchronized long promote(long nowEpochNanos) throws IOException {
        return promote(nowEpochNanos, appliedSeq);
    }

    /**
     * As {@link #promote(long)}, the replicas now holding the state at {@code seq} (a rollback to
     * an earlier point): the applied seq becomes {@code seq} and the promote intent is cleared, in
     * the same atomic write.
     */
    synchronized long promote(long nowEpochNanos, long seq) throws IOException {
        long oldGeneration = generationId;
        long oldApplied = appliedSeq;
        long oldPromoting = promotingToSeq;
        long newGeneration;
        do {
            newGeneration = newGenerationId();
        } while (newGeneration == oldGeneration);
        generationId = newGeneration;
        promotedEpochNanos = Math.max(1, nowEpochNanos);
        appliedSeq = seq;
        promotingToSeq = -1;
        try {
            persist();
        } catch (IOException e) {
            generationId = oldGeneration;
            promotedEpochNanos = 0;
            appliedSeq = oldApplied;
            promotingToSeq = oldPromoting;
            throw e;
        }
        return newGeneration;
    }

    /**
     * Persists the intent to promote by rolling back to {@code seq}, before the rollback starts:
     * a receiver that dies during the rollback finishes it on restart instead of exporting a
     * half-rolled-back replica or taking deltas onto it.
     */
    synchronized void setPromotingTo(long seq) throws IOException {
        long old = promotingToSeq;
        promotingToSeq = seq;
        try {
            persist();
        } catch (IOException e) {
            promotingToSeq = old;
            throw e;
        }
    }

    /** The seq an interrupted promote rolls back to, or -1. */
    synchronized long promotingToSeq() {
        return promotingToSeq;
    }

    synchronized List<VolumeInfo> volumes() {
        return volumes;
    }

    synchronized long appliedSeq() {
        return appliedSeq;
    }

    synchronized long appliedCaptureNanos() {
        return appliedCaptureNanos;
    }

    synchronized void setVolumes(List<VolumeInfo> newVolumes) throws IOException {
        List<VolumeInfo> old = volumes;
        volumes = List.copyOf(newVolumes);
        try {
            persist();
        } catch (IOException e) {
            volumes = old;
            throw e;
        }
    }

    synchronized void setApplied(long seq, long captureNanos) throws IOException {
        long oldSeq = appliedSeq;
        long oldCapture = appliedCaptureNanos;
        appliedSeq = seq;
        appliedCaptureNanos = captureNanos;
        try {
            persist();
        } catch (IOException e) {
            appliedSeq = oldSeq;
            appliedCaptureNanos = oldCapture;
            throw e;
        }
    }

    /** Caller holds the monitor (or the state is not yet shared). */
    private void persist() throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("group", group);
        root.put("generationId", generationId);
        root.put("createdEpochNanos", createdEpochNanos);
        ArrayNode list = root.putArray("volumes");
        for (VolumeInfo v : volumes) {
            list.addObject().put("name", v.name()).put("sizeBytes", v.sizeBytes());
        }
        root.put("appliedSeq", appliedSeq);
        root.put("appliedCaptureNanos", appliedCaptureNanos);
        if (promotedEpochNanos != 0) {
            root.put("promotedEpochNanos", promotedEpochNanos);
        }
        if (promotingToSeq >= 0) {
            root.put("promotingToSeq", promotingToSeq);
        }
        writeAtomically(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    }

    /** Writes {@code bytes} to a temp file beside {@code file}, fsyncs it, renames it over {@code file}, fsyncs the directory. */
    static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        forceDirectory(file.getParent());
    }

    static void forceDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
