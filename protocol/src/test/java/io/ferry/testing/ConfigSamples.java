package io.ferry.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.ferry.config.ConfigException;
import java.util.function.Function;

/**
 * What the agent's and the receiver's configuration tests share: a valid sample, variants of it,
 * and the check that a variant is refused for the key it breaks.
 */
public final class ConfigSamples<T> {
    private final String valid;
    private final Function<String, T> parser;

    public ConfigSamples(String valid, Function<String, T> parser) {
        this.valid = valid;
        this.parser = parser;
    }

    public T parse(String yaml) {
        return parser.apply(yaml);
    }

    /** The valid sample with {@code from} replaced; {@code from} must be in it (else the test is wrong). */
    public String with(String from, String to) {
        if (!valid.contains(from)) {
            throw new IllegalArgumentException("test bug: sample has no " + from);
        }
        return valid.replace(from, to);
    }

    /** Asserts that {@code yaml} is refused for {@code expectedKey}, named in the message. */
    public ConfigException rejected(String yaml, String expectedKey) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected a ConfigException for key %s", expectedKey).isNotNull();
        assertThat(e.key()).isEqualTo(expectedKey);
        assertThat(e.getMessage()).contains(expectedKey);
        return e;
    }
}
