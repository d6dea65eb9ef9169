package io.ferry.capture.state;

import io.ferry.daemon.StateFiles;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A consistency group's persistent state on the agent, {@code <dataDir>/state/<group>.json},
 * bound with Jackson databind: {@code {"format": 1, "group": "db", "generation": "1f2e..."}}
 * (the generation as unsigned hex, so no JSON reader rounds it). Written whole, atomically
 * (temporary file, fsync, rename, directory fsync); a reader sees the old state or the new, never
 * a mix. Read strictly: unknown keys, a missing key, another format or group is an error that
 * names the file.
 *
 * <p>The format before this file, {@code <group>.generation} holding the bare hex id, is still
 * read (see {@link Generation}). Not thread-safe: the node's start-up thread owns it.
 *
 * @param format     {@link #FORMAT}
 * @param group      the group the file belongs to (checked against its name)
 * @param generation the data-generation id, non-zero, as unsigned hex
 * @param fencedSeq  the seq the DR site promoted the group at once the agent learnt it (absent: not fenced)
 * @param crashRecovery true from a host crash until the group is back in journal mode
 * @param journalCoversVolumes true when the generation began with a new journal and volumes that
 *        held no data, so the journal's records from seq 1 rebuild the volumes; absent (null) in
 *        files written before it existed, read as false
 */
@JsonPropertyOrder({"format", "group", "generation", "journalCoversVolumes", "mode", "foldedSeq", "dirtySinceNanos",
        "crashRecovery", "fencedSeq"})
public record GroupStateFile(Integer format, String group, String generation,
        @JsonInclude(JsonInclude.Include.NON_NULL) Boolean journalCoversVolumes,
        @JsonInclude(JsonInclude.Include.NON_NULL) String mode,
        @JsonInclude(JsonInclude.Include.NON_NULL) Long foldedSeq,
        @JsonInclude(JsonInclude.Include.NON_NULL) Long dirtySinceNanos,
        @JsonInclude(JsonInclude.Include.NON_NULL) Boolean crashRecovery,
        @JsonInclude(JsonInclude.Include.NON_NULL) Long fencedSeq) {

    /** {@link #mode} of a group whose writes only mark its dirty map. */
    public static final String BITMAP = "bitmap";
    public static final String JOURNAL = "journal";

    @com.fasterxml.jackson.annotation.JsonCreator
    public GroupStateFile {
    }

    public GroupStateFile(Integer format, String group, String generation, Boolean journalCoversVolumes) {
        this(format, group, generation, journalCoversVolumes, null, null, null, null, null);
    }

    /**
     * The same state with the group's mode: bitmap or journal, the seq of its last fold, and the
     * capture time of the oldest write its dirty map stands for (see {@code WritePipeline}).
     */
    public GroupStateFile withMode(boolean bitmap, long folded, long dirtySince) {
        return withMode(bitmap, folded, dirtySince, false);
    }

    /**
     * As above; {@code crash}: a host crash may have lost the journal's tail, so the receiver may
     * hold seqs past the fold (see {@code CrashRecovery}); written only while true.
     */
    public GroupStateFile withMode(boolean bitmap, long folded, long dirtySince, boolean crash) {
        return new GroupStateFile(format, group, generation, journalCoversVolumes, bitmap ? BITMAP : JOURNAL,
                folded, dirtySince, crash ? Boolean.TRUE : null, fencedSeq);
    }

    /** The same state, fenced at {@code promotedSeq}: the DR site promoted the group there. */
    public GroupStateFile withFenced(long promotedSeq) {
        return new GroupStateFile(format, group, generation, journalCoversVolumes, mode, foldedSeq, dirtySinceNanos,
                crashRecovery, promotedSeq);
    }

    /** The seq the group was fenced at, or -1 when it is not fenced. */
    public long fencedSeqOrNone() {
        return fencedSeq == null ? -1 : fencedSeq;
    }

    /** Whether the group recovers from a host crash (false when the file does not say). */
    public boolean inCrashRecovery() {
        return Boolean.TRUE.equals(crashRecovery);
    }

    /** Whether the group was in bitmap mode (false when the file does not say). */
    public boolean bitmapMode() {
        return BITMAP.equals(mode);
    }

    public long foldedSeqOrZero() {
        return foldedSeq == null ? 0 : foldedSeq;
    }

    public long dirtySinceNanosOrZero() {
        return dirtySinceNanos == null ? 0 : dirtySinceNanos;
    }

    public static final int FORMAT = 1;
    static final String SUFFIX = ".json";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    /** The state of {@code group} with generation {@code id}. */
    public static GroupStateFile of(String group, long id, boolean journalCoversVolumes) {
        return new GroupStateFile(FORMAT, group, Long.toHexString(id), journalCoversVolumes);
    }

    /** Whether the journal from seq 1 rebuilds the volumes (false when the file does not say). */
    public boolean coversVolumes() {
        return Boolean.TRUE.equals(journalCoversVolumes);
    }

    /** The generation id. */
    public long generationId() {
        return Long.parseUnsignedLong(generation, 16);
    }

    /** {@code <stateDir>/<group>.json}. */
    public static Path path(Path stateDir, String group) {
        return stateDir.resolve(group + SUFFIX);
    }

    /**
     * The state of {@code group} in {@code stateDir}, or null when it has no file.
     *
     * @throws IOException naming the file when it cannot be read or is not a valid state
     */
    public static GroupStateFile read(Path stateDir, String group) throws IOException {
        Path file = path(stateDir, group);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        GroupStateFile state;
        try {
            state = JSON.readValue(bytes, GroupStateFile.class);
        } catch (JsonProcessingException e) {
            throw corrupt(file, e.getOriginalMessage(), e);
        }
        for (String[] field : new String[][] {{"format", String.valueOf(state.format)}, {"group", state.group},
                {"generation", state.generation}}) {
            if (field[1] == null || field[1].equals("null")) {
                throw corrupt(file, "it lacks the key \"" + field[0] + "\"", null);
            }
        }
        if (state.format != FORMAT) {
            throw corrupt(file, "format " + state.format + " is not " + FORMAT + " (written by another ferry version?)",
                    null);
        }
        if (state.mode != null && !BITMAP.equals(state.mode) && !JOURNAL.equals(state.mode)) {
            throw corrupt(file, "mode '" + state.mode + "' is neither " + JOURNAL + " nor " + BITMAP, null);
        }
        if (!state.group.equals(group)) {
            throw corrupt(file, "it belongs to group '" + state.group + "', not '" + group + "'", null);
        }
        long id;
        try {
            id = state.generationId();
        } catch (NumberFormatException e) {
            throw corrupt(file, "generation '" + state.generation + "' is not unsigned hex", e);
        }
        if (id == 0) {
            throw corrupt(file, "generation is zero", null);
        }
        return state;
    }

    /** Writes this state to {@code stateDir} atomically and durably. */
    public void write(Path stateDir) throws IOException {
        Path file = path(stateDir, group);
        StateFiles.DURABLE.writeAtomically(file, JSON.writeValueAsBytes(this));
    }

    private static IOException corrupt(Path file, String why, Exception cause) {
        return new IOException("agent state file " + file + " is not valid: " + why
                + "; restore it from a backup or remove the group's state (the receiver then sees a new generation)",
                cause);
    }
}
