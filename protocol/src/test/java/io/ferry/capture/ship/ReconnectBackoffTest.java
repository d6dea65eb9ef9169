package io.ferry.capture.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReconnectBackoffTest {

    private static List<Long> delays(ReconnectBackoff backoff, int n) {
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            delays.add(backoff.nextDelayMs());
        }
        return delays;
    }

    @Test
    void shouldDoubleTheDelayFromOneHundredMillisecondsUpToTheCap() {
        ReconnectBackoff backoff = new ReconnectBackoff(bound -> 0);
        assertThat(delays(backoff, 9)).containsExactly(100L, 200L, 400L, 800L, 1600L, 3200L, 5000L, 5000L, 5000L);
    }

    @Test
    void shouldAddUpToHalfTheDelayAgainAsJitter() {
        List<Long> bounds = new ArrayList<>();
        ReconnectBackoff backoff = new ReconnectBackoff(bound -> {
            bounds.add(bound);
            return bound - 1; // the largest jitter allowed
        });
        assertThat(delays(backoff, 8)).containsExactly(150L, 300L, 600L, 1200L, 2400L, 4800L, 7500L, 7500L);
        assertThat(bounds).containsExactly(51L, 101L, 201L, 401L, 801L, 1601L, 2501L, 2501L);
    }

    @Test
    void shouldStartOverAfterASessionReachedTheReceiver() {
        ReconnectBackoff backoff = new ReconnectBackoff(bound -> 0);
        delays(backoff, 5);
        backoff.reset();
        assertThat(delays(backoff, 2)).containsExactly(100L, 200L);
    }
}
