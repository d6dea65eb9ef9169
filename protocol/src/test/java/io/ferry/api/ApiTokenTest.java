package io.ferry.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiTokenTest {

    @TempDir
    Path dataDir;

    @Test
    void shouldCreateOwnerOnlyTokenFileOfRandomHexOnFirstStart() throws IOException {
        String token = ApiToken.loadOrCreate(dataDir);

        Path file = dataDir.resolve("api.token");
        assertThat(token).matches("[0-9a-f]{64}");
        assertThat(Files.readString(file).trim()).isEqualTo(token);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        try (Stream<Path> files = Files.list(dataDir)) {
            assertThat(files).containsExactly(file);
        }
    }

    @Test
    void shouldReuseTheExistingTokenOnLaterStarts() {
        String first = ApiToken.loadOrCreate(dataDir);

        assertThat(ApiToken.loadOrCreate(dataDir)).isEqualTo(first);
    }

    @Test
    void shouldCreateDifferentTokensForDifferentDaemons(@TempDir Path otherDataDir) {
        assertThat(ApiToken.loadOrCreate(dataDir)).isNotEqualTo(ApiToken.loadOrCreate(otherDataDir));
    }

    @Test
    void shouldRefuseATokenFileThatOthersCanRead() throws IOException {
        String token = ApiToken.loadOrCreate(dataDir);
        Path file = dataDir.resolve("api.token");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

        assertThatThrownBy(() -> ApiToken.loadOrCreate(dataDir))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("rw-r--r--")
                .hasMessageContaining("chmod 600");
        assertThat(Files.readString(file).trim()).isEqualTo(token);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-r--r--");
    }

    @Test
    void shouldRefuseATokenFileThatIsASymbolicLink() throws IOException {
        Path elsewhere = Files.writeString(dataDir.resolve("elsewhere"), "0123456789abcdef0123456789abcdef");
        Files.setPosixFilePermissions(elsewhere, PosixFilePermissions.fromString("rw-------"));
        Files.createSymbolicLink(dataDir.resolve("api.token"), elsewhere);

        assertThatThrownBy(() -> ApiToken.loadOrCreate(dataDir))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("regular file");
    }

    @Test
    void shouldRefuseAnEmptyTokenFile() throws IOException {
        Path file = Files.createFile(dataDir.resolve("api.token"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));

        assertThatThrownBy(() -> ApiToken.loadOrCreate(dataDir))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("delete the file");
    }

    @Test
    void shouldAcceptAnOperatorChosenTokenWithOwnerOnlyMode() throws IOException {
        Path file = Files.createFile(dataDir.resolve("api.token"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, "  my-own-long-token-value \n");

        assertThat(ApiToken.loadOrCreate(dataDir)).isEqualTo("my-own-long-token-value");
    }

    @Test
    void shouldMatchOnlyTheWholeToken() {
        String token = "0123456789abcdef0123456789abcdef";

        assertThat(ApiToken.matches(token, token)).isTrue();
        assertThat(ApiToken.matches(token, token.substring(1))).isFalse();
        assertThat(ApiToken.matches(token, token + "0")).isFalse();
        assertThat(ApiToken.matches(token, token.replace('f', 'e'))).isFalse();
        assertThat(ApiToken.matches(token, null)).isFalse();
        assertThat(ApiToken.matches(token, "")).isFalse();
    }
}
