package io.ferry.capture.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerationTest {

    @TempDir
    Path dataDir;

    private Path state(String name) {
        return dataDir.resolve("state").resolve(name);
    }

    @Test
    void shouldKeepWhetherTheJournalCoversTheVolumesAndAskOnlyForANewGroup() throws IOException {
        Generation.Identity created = Generation.loadOrCreate(dataDir, "db", () -> true);
        assertThat(created.journalCoversVolumes()).isTrue();
        Generation.Identity again = Generation.loadOrCreate(dataDir, "db", () -> {
            throw new AssertionError("asked again for a group that has its state");
        });
        assertThat(again).isEqualTo(created);
        assertThat(Files.readString(state("db.json"))).contains("\"journalCoversVolumes\" : true");
        assertThat(Generation.loadOrCreate(dataDir, "mail", () -> false).journalCoversVolumes()).isFalse();
    }

    @Test
    void shouldCreateANonZeroIdOnceAndKeepItInAJsonStateFile() throws IOException {
        long id = Generation.loadOrCreate(dataDir, "db");
        assertThat(id).isNotZero();
        assertThat(Generation.loadOrCreate(dataDir, "db")).isEqualTo(id);
        assertThat(Generation.loadOrCreate(dataDir, "mail")).isNotEqualTo(id);

        JsonNode json = new ObjectMapper().readTree(state("db.json").toFile());
        assertThat(json.get("format").asInt()).isEqualTo(1);
        assertThat(json.get("group").asText()).isEqualTo("db");
        assertThat(Long.parseUnsignedLong(json.get("generation").asText(), 16)).isEqualTo(id);
        assertThat(json.get("journalCoversVolumes").asBoolean()).isFalse();
        assertThat(json.size()).isEqualTo(4);
        try (var files = Files.list(dataDir.resolve("state"))) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("db.json", "mail.json");
        }
    }

    @Test
    void shouldCarryTheIdOfTheEarlierHexFormatIntoTheStateFile() throws IOException {
        Files.createDirectories(dataDir.resolve("state"));
        Files.writeString(state("db.generation"), "fedcba9876543210\n");
        assertThat(Generation.loadOrCreate(dataDir, "db")).isEqualTo(0xfedcba9876543210L);
        assertThat(Files.readString(state("db.json"))).contains("\"generation\" : \"fedcba9876543210\"");
        assertThat(state("db.generation")).as("left for an older agent").exists();

        Files.writeString(state("db.generation"), "0123\n");
        assertThat(Generation.loadOrCreate(dataDir, "db")).as("the state file wins").isEqualTo(0xfedcba9876543210L);
    }

    @Test
    void shouldRefuseCorruptStateNamingTheFile() throws IOException {
        Files.createDirectories(dataDir.resolve("state"));
        for (String bad : new String[] {"{\"format\": 1, \"group\": \"db\"", "[]",
            "{\"format\": 1, \"group\": \"db\", \"generation\": \"12\", \"extra\": 1}",
            "{\"format\": 1, \"group\": \"db\"}", "{\"format\": 2, \"group\": \"db\", \"generation\": \"12\"}",
            "{\"format\": 1, \"group\": \"mail\", \"generation\": \"12\"}",
            "{\"format\": 1, \"group\": \"db\", \"generation\": \"xyz\"}",
            "{\"format\": 1, \"group\": \"db\", \"generation\": \"0\"}"}) {
            Files.writeString(state("db.json"), bad);
            assertThatThrownBy(() -> Generation.loadOrCreate(dataDir, "db")).as(bad)
                    .isInstanceOf(IOException.class).hasMessageContaining(state("db.json").toString());
        }
        Files.delete(state("db.json"));
        Files.writeString(state("db.generation"), "not hex");
        assertThatThrownBy(() -> Generation.loadOrCreate(dataDir, "db")).isInstanceOf(IOException.class)
                .hasMessageContaining("db.generation");
    }
}
