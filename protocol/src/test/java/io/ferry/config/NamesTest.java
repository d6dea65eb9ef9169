package io.ferry.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NamesTest {

    @ParameterizedTest
    @ValueSource(strings = {"db", "db-data", "host_a.1", "A", "...", ".hidden",
        "a234567890123456789012345678901234567890123456789012345678901234"})
    void shouldAcceptNamesThatAreSafePathComponents(String name) {
        assertThat(Names.check("volume", name)).isEqualTo(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "a/b", "../etc", "a b", "naïve", "x:y",
        "a2345678901234567890123456789012345678901234567890123456789012345"})
    void shouldRejectNamesThatCouldEscapeAPathOrAreTooLong(String name) {
        assertThatThrownBy(() -> Names.check("groups[0].name", name))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("groups[0].name \"" + name + "\" is not a valid name")
                .hasMessageContaining("A-Z a-z 0-9 . _ -");
    }
}
