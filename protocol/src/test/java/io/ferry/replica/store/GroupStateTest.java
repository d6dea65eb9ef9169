package io.ferry.replica.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ferry.wire.VolumeInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupStateTest {
    @TempDir
    Path dir;

    @Test
    void shouldReadTheStateFileTheEarlierReceiverWroteAndWriteTheSameFields() throws IOException {
        Path file = Files.writeString(dir.resolve(GroupState.FILE), """
                {
                  "format" : 1,
                  "group" : "db",
                  "generationId" : -4242,
                  "createdEpochNanos" : 17,
                  "volumes" : [ { "name" : "data", "sizeBytes" : 1048576 } ],
                  "appliedSeq" : 30,
                  "appliedCaptureNanos" : 99
                }
                """);
        GroupState state = GroupState.read(file, "db");
        assertThat(state).isEqualTo(new GroupState(1, "db", -4242, 17, List.of(new VolumeInfo("data", 1 << 20)), 30,
                99, 0, GroupState.NO_INTENT, GroupState.SOURCE_ADOPT, true, 30, null));
        assertThat(state.isPromoted()).isFalse();
        assertThat(state.isPromoting()).isFalse();

        GroupStateStore.write(file, state.withPromotingTo(12));
        JsonNode written = new ObjectMapper().readTree(file.toFile());
        assertThat(written.fieldNames()).toIterable().containsExactly("format", "group", "generationId",
                "createdEpochNanos", "volumes", "appliedSeq", "appliedCaptureNanos", "promotingToSeq",
                "sourceGenerationId", "consistent", "lastConsistentSeq");
        assertThat(GroupState.read(file, "db").isPromoting()).isTrue();

        GroupState promoted = GroupState.read(file, "db").promoted(5, 12);
        GroupStateStore.write(file, promoted);
        written = new ObjectMapper().readTree(file.toFile());
        assertThat(written.fieldNames()).toIterable().containsExactly("format", "group", "generationId",
                "createdEpochNanos", "volumes", "appliedSeq", "appliedCaptureNanos", "promotedEpochNanos",
                "sourceGenerationId", "consistent", "lastConsistentSeq");
        assertThat(written.get("promotedEpochNanos").asLong()).isEqualTo(5);
        assertThat(written.get("appliedSeq").asLong()).isEqualTo(12);
        assertThat(written.get("generationId").asLong()).isNotEqualTo(-4242).isNotZero();
    }

    @Test
    void shouldKeepASyncAskedForUntilItEnds() throws IOException {
        Path file = dir.resolve(GroupState.FILE);
        GroupState created = GroupState.create("db", 1);
        assertThat(created.consistent()).isTrue();
        assertThat(created.sourceGenerationId()).isZero();

        GroupState syncing = created.withSyncNeeded(77, true, 5).withSyncBegun("initial", 1 << 20);
        GroupStateStore.write(file, syncing);
        GroupState read = GroupState.read(file, "db");
        assertThat(read.consistent()).isFalse();
        assertThat(read.sourceGenerationId()).isEqualTo(77);
        assertThat(read.sync()).isEqualTo(new GroupState.Sync("initial", true, 1 << 20, 0, 5));

        GroupStateStore.write(file, read.withApplied(40, 9).withSyncEnded(40));
        GroupState ended = GroupState.read(file, "db");
        assertThat(ended.consistent()).isTrue();
        assertThat(ended.lastConsistentSeq()).isEqualTo(40);
        assertThat(ended.sync()).isNull();
        assertThat(new ObjectMapper().readTree(file.toFile()).has("sync")).isFalse();
    }

    @Test
    void shouldNameTheMissingFieldAndTheFile() throws IOException {
        Path file = Files.writeString(dir.resolve(GroupState.FILE),
                "{\"format\": 1, \"group\": \"db\", \"volumes\": [], \"appliedSeq\": 3}");
        assertThatThrownBy(() -> GroupState.read(file, "db")).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("\"generationId\"");
        Files.writeString(file, "{\"format\": 1, \"group\": \"web\", \"generationId\": 1, \"volumes\": [],"
                + " \"appliedSeq\": 3}");
        assertThatThrownBy(() -> GroupState.read(file, "db")).hasMessageContaining("belongs to group \"web\"");
    }
}
