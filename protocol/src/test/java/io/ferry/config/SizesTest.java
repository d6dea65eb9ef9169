package io.ferry.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SizesTest {

    @ParameterizedTest
    @CsvSource({
        "512, 512",
        "0, 0",
        "4096B, 4096",
        "64KiB, 65536",
        "3MiB, 3145728",
        "10GiB, 10737418240",
        "2TiB, 2199023255552",
        "10 GiB, 10737418240",
    })
    void shouldParseBytesWithBinaryUnits(String text, long expected) {
        assertThat(Sizes.parseBytes(text)).isEqualTo(expected);
    }

    @Test
    void shouldRejectNegativeSizes() {
        assertThatThrownBy(() -> Sizes.parseBytes("-1GiB"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"-1GiB\" is negative")
                .hasMessageContaining("KiB, MiB, GiB or TiB");
    }

    @ParameterizedTest
    @ValueSource(strings = {"10GB", "10gib", "10K", "10XB"})
    void shouldRejectUnknownUnitsNamingTheUnit(String text) {
        assertThatThrownBy(() -> Sizes.parseBytes(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown unit")
                .hasMessageContaining(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "GiB", "1.5GiB", "0x10", "ten"})
    void shouldRejectTextThatIsNotASize(String text) {
        assertThatThrownBy(() -> Sizes.parseBytes(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is not a size");
    }

    @ParameterizedTest
    @ValueSource(strings = {"8388608TiB", "99999999999999999999", "9223372036854775808B"})
    void shouldRejectSizesThatOverflowALong(String text) {
        assertThatThrownBy(() -> Sizes.parseBytes(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too large");
    }

    @Test
    void shouldAcceptTheLargestSizeThatFits() {
        assertThat(Sizes.parseBytes("8388607TiB")).isEqualTo(8388607L << 40);
    }

    @Test
    void shouldFormatWithTheLargestExactUnit() {
        assertThat(Sizes.format(10L << 30)).isEqualTo("10GiB");
        assertThat(Sizes.format(1536)).isEqualTo("1536B");
        assertThat(Sizes.format(512)).isEqualTo("512B");
        assertThat(Sizes.format(0)).isEqualTo("0B");
    }
}
