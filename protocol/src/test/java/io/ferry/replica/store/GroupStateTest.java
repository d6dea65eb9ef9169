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
                99, 0, GroupState.NO_INTENT));
        assertThat(state.isPromoted()).isFalse();
        assertThat(state.isPromoting()).isFalse();

        GroupStateStore.write(file, state.withPromotingTo(12));
        JsonNode written = new ObjectMapper().readTree(file.toFile());
        assertThat(written.fieldNames()).toIterable().containsExactly("format", "group", "generationId",
                "createdEpochNanos", "volumes", "appliedSeq", "appliedCaptureNanos", "promotingToSeq");
        assertThat(GroupState.read(file, "db").isPromoting()).isTrue();

        GroupState promoted = GroupState.read(file, "db").promoted(5, 12);
        GroupStateStore.write(file, promoted);
        written = new ObjectMapper().readTree(file.toFile());
        assertThat(written.fieldNames()).toIterable().containsExactly("format", "group", "generationId",
                "createdEpochNanos", "volumes", "appliedSeq", "appliedCaptureNanos", "promotedEpochNanos");
        assertThat(written.get("promotedEpochNanos").asLong()).isEqualTo(5);
        assertThat(written.get("appliedSeq").asLong()).isEqualTo(12);
        assertThat(written.get("generationId").asLong()).isNotEqualTo(-4242).isNotZero();
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
