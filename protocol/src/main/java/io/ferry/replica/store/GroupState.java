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
        "appliedCaptureNanos", "promotedEpochNanos", "promotingToSeq"})
public record GroupState(int format, String group, long generationId, long createdEpochNanos,
        List<VolumeInfo> volumes, long appliedSeq, long appliedCaptureNanos,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) long promotedEpochNanos,
        @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = NoIntent.class) long promotingToSeq) {

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
            @JsonProperty("promotingToSeq") Long promotingToSeq) {
        return new GroupState(required("format", format), required("group", group),
                required("generationId", generationId), createdEpochNanos == null ? 0 : createdEpochNanos,
                required("volumes", volumes), required("appliedSeq", appliedSeq),
                appliedCaptureNanos == null ? 0 : appliedCaptureNanos, promotedEpochNanos == null ? 0 : promotedEpochNanos,
                promotingToSeq == null ? NO_INTENT : promotingToSeq);
    }

    private static <T> T required(String field, T value) {
        if (value == null) {
            throw new IllegalArgumentException("it lacks the field \"" + field + "\"");
        }
        return value;
    }

    /** A new group: a random generation id, no volumes, nothing applied. */
    static GroupState create(String group, long nowEpochNanos) {
        return new GroupState(FORMAT, group, newGenerationId(0), nowEpochNanos, List.of(), 0, 0, 0, NO_INTENT);
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
                appliedCaptureNanos, promotedEpochNanos, promotingToSeq);
    }

    GroupState withApplied(long seq, long captureNanos) {
        return new GroupState(format, group, generationId, createdEpochNanos, volumes, seq, captureNanos,
                promotedEpochNanos, promotingToSeq);
    }

    /** The intent to promote by rolling back to {@code seq}, persisted before the rollback starts. */
    GroupState withPromotingTo(long seq) {
        return new GroupState(format, group, generationId, createdEpochNanos, volumes, appliedSeq,
                appliedCaptureNanos, promotedEpochNanos, seq);
    }

    /**
     * Promoted at {@code nowEpochNanos} with the replicas holding {@code seq}: a new random
     * generation id, the applied seq {@code seq}, the intent cleared.
     */
    GroupState promoted(long nowEpochNanos, long seq) {
        return new GroupState(format, group, newGenerationId(generationId), createdEpochNanos, volumes, seq,
                appliedCaptureNanos, Math.max(1, nowEpochNanos), NO_INTENT);
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
