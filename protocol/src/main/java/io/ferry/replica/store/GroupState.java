package io.ferry.replica.store;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.ferry.wire.VolumeInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;

/**
 * The persisted state of one group at the DR site, {@code <dataDir>/groups/<group>/state.json},
 * as an immutable snapshot: its generation id, the volumes the agent announced, the applied seq
 * and, once promoted, when (a promoted group takes no more deltas and keeps its new generation
 * id), and the seq a promote to an earlier point rolls back to while it runs.
 *
 * <p>Every change makes a new snapshot ({@code with...}); {@link GroupStateStore} writes it whole
 * and publishes it only after it is on disk. Written with Jackson databind; the field names are
 * the format (format 1), {@code promotedEpochNanos} and {@code promotingToSeq} only present when
 * set.
 */
@JsonPropertyOrder({"format", "group", "generationId", "createdEpochNanos", "volumes", "appliedSeq",
        "appliedCaptureNanos", "promotedEpochNanos", "promotingToSeq", "sourceGenerationId", "consistent",
        "lastConsistentSeq", "sync"})
public record GroupState(int format, String group, long generationId, long createdEpochNanos,
        List<VolumeInfo> volumes, long appliedSeq, long appliedCaptureNanos,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) long promotedEpochNanos,
        @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = NoIntent.class) long promotingToSeq,
        long sourceGenerationId, boolean consistent, long lastConsistentSeq,
        @JsonInclude(JsonInclude.Include.NON_NULL) Sync sync) {

    /**
     * A synchronization under way: its kind ({@code initial} or {@code resync}), whether the
     * agent sends zero regions too (the replica may hold other data there), and the progress the
     * agent reported last (in memory only between marks; persisted at its start).
     */
    public record Sync(String kind, boolean zeroes, long totalBytes, long doneBytes, long startEpochNanos) {
        public Sync withDone(long done, long total) {
            return new Sync(kind, zeroes, total, done, startEpochNanos);
        }
    }

    /**
     * {@link #sourceGenerationId} of a state file written before synchronization existed: the
     * group adopts the first agent generation it sees without a sync, as it always did.
     */
    static final long SOURCE_ADOPT = -1;

    static final String FILE = "state.json";
    static final int FORMAT = 1;
    /** {@link #promotingToSeq} when no promote is under way. */
    static final long NO_INTENT = -1;
    static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .enable(SerializationFeature.INDENT_OUTPUT);

    public GroupState {
        volumes = List.copyOf(volumes);
    }

    /** Reads a state file: the required fields must be there, the optional ones default. */
    @JsonCreator
    static GroupState fromJson(@JsonProperty("format") Integer format, @JsonProperty("group") String group,
            @JsonProperty("generationId") Long generationId, @JsonProperty("createdEpochNanos") Long createdEpochNanos,
            @JsonProperty("volumes") List<VolumeInfo> volumes, @JsonProperty("appliedSeq") Long appliedSeq,
            @JsonProperty("appliedCaptureNanos") Long appliedCaptureNanos,
            @JsonProperty("promotedEpochNanos") Long promotedEpochNanos,
            @JsonProperty("promotingToSeq") Long promotingToSeq,
            @JsonProperty("sourceGenerationId") Long sourceGenerationId, @JsonProperty("consistent") Boolean consistent,
            @JsonProperty("lastConsistentSeq") Long lastConsistentSeq, @JsonProperty("sync") Sync sync) {
        return new GroupState(required("format", format), required("group", group),
                required("generationId", generationId), createdEpochNanos == null ? 0 : createdEpochNanos,
                required("volumes", volumes), required("appliedSeq", appliedSeq),
                appliedCaptureNanos == null ? 0 : appliedCaptureNanos, promotedEpochNanos == null ? 0 : promotedEpochNanos,
                promotingToSeq == null ? NO_INTENT : promotingToSeq,
                sourceGenerationId == null ? SOURCE_ADOPT : sourceGenerationId, consistent == null || consistent,
                lastConsistentSeq == null ? required("appliedSeq", appliedSeq) : lastConsistentSeq, sync);
    }

    private static <T> T required(String field, T value) {
        if (value == null) {
            throw new IllegalArgumentException("it lacks the field \"" + field + "\"");
        }
        return value;
    }

    /** A new group: a random generation id, no volumes, nothing applied. */
    static GroupState create(String group, long nowEpochNanos) {
        return new GroupState(FORMAT, group, newGenerationId(0), nowEpochNanos, List.of(), 0, 0, 0, NO_INTENT, 0, true,
                0, null);
    }

    /** Whether the group was promoted at this site. */
    @JsonIgnore
    public boolean isPromoted() {
        return promotedEpochNanos != 0;
    }

    /** Whether a promote to an earlier point was under way (its rollback may be half done). */
    @JsonIgnore
    public boolean isPromoting() {
        return promotingToSeq >= 0 && !isPromoted();
    }

    GroupState withVolumes(List<VolumeInfo> newVolumes) {
        return new GroupState(format, group, generationId, createdEpochNanos, newVolumes, appliedSeq,
                appliedCaptureNanos, promotedEpochNanos, promotingToSeq, sourceGenerationId, consistent, lastConsistentSeq, sync);
    }

    GroupState withApplied(long seq, long captureNanos) {
        return new GroupState(format, group, generationId, createdEpochNanos, volumes, seq, captureNanos,
                promotedEpochNanos, promotingToSeq, sourceGenerationId, consistent, lastConsistentSeq, sync);
    }

    /** The intent to promote by rolling back to {@code seq}, persisted before the rollback starts. */
    GroupState withPromotingTo(long seq) {
        return new GroupState(format, group, generationId, createdEpochNanos, volumes, appliedSeq,
                appliedCaptureNanos, promotedEpochNanos, seq, sourceGenerationId, consistent, lastConsistentSeq, sync);
    }

    /**
     * The replicas stop being a copy of anything until a sync from agent generation
     * {@code source} ends: persisted before the agent is told to sync.
     */
    GroupState withSyncNeeded(long source, boolean zeroes, long nowEpochNanos) {
        Sync next = new Sync("initial", zeroes, 0, 0, nowEpochNanos);
        return new GroupState(format, group, generationId, createdEpochNanos, volumes, appliedSeq,
                appliedCaptureNanos, promotedEpochNanos, promotingToSeq, source, false, lastConsistentSeq, next);
    }

    /** The agent generation the replicas follow from now on, without a sync (a state file of the earlier format). */
    GroupState withSource(long source) {
        return new GroupState(format, group, generationId, createdEpochNanos, volumes, appliedSeq,
                appliedCaptureNanos, promotedEpochNanos, promotingToSeq, source, consistent, lastConsistentSeq, sync);
    }

    /** A sync began: its kind and size as the agent reported them. */
    GroupState withSyncBegun(String kind, long totalBytes) {
        Sync now = sync == null ? new Sync(kind, false, totalBytes, 0, 0) : sync;
        Sync next = new Sync(kind, now.zeroes(), totalBytes, 0, now.startEpochNanos());
        return new GroupState(format, group, generationId, createdEpochNanos, volumes, appliedSeq,
                appliedCaptureNanos, promotedEpochNanos, promotingToSeq, sourceGenerationId, consistent,
                lastConsistentSeq, next);
    }

    /**
     * A resync of dirty regions begins after {@code seq}: the replicas stop being a consistent
     * copy past it, and {@code seq} stays their last consistent point until the resync ends. A
     * group already inside a resync keeps the point it had.
     */
    GroupState withResyncBegun(long seq, long totalBytes, long nowEpochNanos) {
        boolean first = consistent;
        Sync next = new Sync("resync", true, totalBytes, 0, first || sync == null ? nowEpochNanos : sync.startEpochNanos());
        return new GroupState(format, group, generationId, createdEpochNanos, volumes, appliedSeq,
                appliedCaptureNanos, promotedEpochNanos, promotingToSeq, sourceGenerationId, false,
                first ? seq : lastConsistentSeq, next);
    }

    /** Whether the replicas were a consistent copy at {@code lastConsistentSeq} and a resync runs since. */
    @JsonIgnore
    public boolean resyncing() {
        return !consistent && sync != null && "resync".equals(sync.kind()) && lastConsistentSeq > 0;
    }

    /** The sync ended with the replicas at {@code seq}: a consistent copy again. */
    GroupState withSyncEnded(long seq) {
        return new GroupState(format, group, generationId, createdEpochNanos, volumes, appliedSeq,
                appliedCaptureNanos, promotedEpochNanos, promotingToSeq, sourceGenerationId, true, seq, null);
    }

    /**
     * Promoted at {@code nowEpochNanos} with the replicas holding {@code seq}: a new random
     * generation id, the applied seq {@code seq}, the intent cleared.
     */
    GroupState promoted(long nowEpochNanos, long seq) {
        // a promote is only ever at a consistent seq (during a resync: its last consistent point)
        return new GroupState(format, group, newGenerationId(generationId), createdEpochNanos, volumes, seq,
                appliedCaptureNanos, Math.max(1, nowEpochNanos), NO_INTENT, sourceGenerationId, true, seq, null);
    }

    private static long newGenerationId(long old) {
        SecureRandom random = new SecureRandom();
        long id;
        do {
            id = random.nextLong();
        } while (id == 0 || id == old);
        return id;
    }

    byte[] toJson() throws IOException {
        return JSON.writeValueAsBytes(this);
    }

    /**
     * Reads {@code file}, which must hold the state of {@code group}.
     *
     * @throws java.nio.file.NoSuchFileException if there is none
     * @throws IOException naming the file and what is wrong with it
     */
    static GroupState read(Path file, String group) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        GroupState state;
        try {
            state = JSON.readValue(bytes, GroupState.class);
        } catch (JacksonException | IllegalArgumentException e) {
            String why = e instanceof JacksonException json ? json.getOriginalMessage() : e.getMessage();
            throw new IOException("group state " + file + " is not readable (" + why
                    + "); restore it or move the group's directory aside to start the group over", e);
        }
        if (state == null) {
            throw new IOException("group state " + file + " is empty; restore it or move the group's directory"
                    + " aside to start the group over");
        }
        if (state.format() != FORMAT) {
            throw new IOException("group state " + file + " has format " + state.format()
                    + ", this receiver reads format " + FORMAT);
        }
        if (!state.group().equals(group)) {
            throw new IOException("group state " + file + " belongs to group \"" + state.group() + "\", not \""
                    + group + "\"; each group needs its own directory");
        }
        return state;
    }

    /** Filters {@code promotingToSeq} out of the file while no promote is under way. */
    static final class NoIntent {
        @Override
        public boolean equals(Object value) {
            return value instanceof Long seq && seq < 0;
        }

        @Override
        public int hashCode() {
            return 0;
        }
    }
}
