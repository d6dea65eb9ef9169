package io.ferry.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HostPortTest {

    @Test
    void shouldParseIpv4AndPort() {
        assertThat(HostPort.parse("127.0.0.1:10809")).isEqualTo(new HostPort("127.0.0.1", 10809));
    }

    @Test
    void shouldParseBracketedIpv6() {
        HostPort hp = HostPort.parse("[::1]:10809");
        assertThat(hp).isEqualTo(new HostPort("::1", 10809));
        assertThat(hp.toString()).isEqualTo("[::1]:10809");
    }

    @Test
    void shouldAcceptPortZeroAndMax() {
        assertThat(HostPort.parse("localhost:0").port()).isZero();
        assertThat(HostPort.parse("localhost:65535").port()).isEqualTo(65535);
    }

    @Test
    void shouldMakeASocketAddressForLiteralAddresses() throws Exception {
        InetSocketAddress address = HostPort.parse("127.0.0.1:9400").toSocketAddress();
        assertThat(address.getAddress()).isEqualTo(InetAddress.getByName("127.0.0.1"));
        assertThat(address.getPort()).isEqualTo(9400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.0.0.1:", ":10809", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:http", "::1:10809", "[::1]10809", "[::1", "[]:1", "h:1234567"})
    void shouldRejectMalformedAddresses(String text) {
        assertThatThrownBy(() -> HostPort.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected HOST:PORT");
    }

    @Test
    void shouldRejectOutOfRangePortInConstructor() {
        assertThatThrownBy(() -> new HostPort("h", 70000)).isInstanceOf(IllegalArgumentException.class);
    }
}
