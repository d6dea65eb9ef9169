package io.ferry.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({
        "0s, 0",
        "500ms, 500",
        "30s, 30000",
        "5m, 300000",
        "1h, 3600000",
    })
    void shouldParseDurationsWithUnits(String text, long expectedMs) {
        assertThat(Durations.parse(text)).isEqualTo(Duration.ofMillis(expectedMs));
    }

    @ParameterizedTest
    @ValueSource(strings = {"30", "0"})
    void shouldRequireAUnit(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has no unit")
                .hasMessageContaining("ms, s, m or h");
    }

    @ParameterizedTest
    @ValueSource(strings = {"30sec", "1d", "5M", "2us"})
    void shouldRejectUnknownUnits(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown unit");
    }

    @ParameterizedTest
    @ValueSource(strings = {"-5s", "1.5s", "", "soon", "99999999999999999999s"})
    void shouldRejectValuesThatAreNotDurations(String text) {
        assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected a whole number with a unit");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0s", "500ms", "30s", "5m", "1h", "1500ms", "90s"})
    void shouldFormatWhatItParses(String text) {
        assertThat(Durations.format(Durations.parse(text))).isEqualTo(text);
    }
}
