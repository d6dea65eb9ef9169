package io.ferry.receiver.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.api.ApiException;
import io.ferry.receiver.recovery.RecoveryError;
import io.ferry.receiver.recovery.RecoveryException;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The recovery use cases' refusals keep the HTTP statuses and codes the API has always answered. */
class RecoveryErrorMappingTest {

    @Test
    void shouldAnswerEveryRefusalWithItsStableCodeAndStatus() {
        Map<RecoveryError, Integer> expected = new EnumMap<>(RecoveryError.class);
        expected.put(RecoveryError.UNKNOWN_GROUP, 404);
        expected.put(RecoveryError.UNKNOWN_POINT, 404);
        expected.put(RecoveryError.POINT_EXPIRED, 409);
        expected.put(RecoveryError.ALREADY_PROMOTED, 409);
        expected.put(RecoveryError.PROMOTED, 409);
        expected.put(RecoveryError.GROUP_FAILED, 409);
        expected.put(RecoveryError.NO_NBD_LISTENER, 409);
        expected.put(RecoveryError.NO_VOLUMES, 409);
        expected.put(RecoveryError.DRILL_RUNNING, 409);
        expected.put(RecoveryError.DRILL_REFUSED, 409);
        expected.put(RecoveryError.NO_DRILL, 409);
        expected.put(RecoveryError.APPLY_TIMEOUT, 503);
        expected.put(RecoveryError.NOT_CONSISTENT, 409);
        assertThat(expected.keySet()).as("every error has its status here").containsExactlyInAnyOrder(
                RecoveryError.values());

        for (Map.Entry<RecoveryError, Integer> e : expected.entrySet()) {
            ApiException http = ReceiverApi.http(new RecoveryException(e.getKey(), "why and what to do"));
            assertThat(http.status()).as(e.getKey().code()).isEqualTo(e.getValue());
            assertThat(http.code()).isEqualTo(e.getKey().code()).isEqualTo(e.getKey().name().toLowerCase());
            assertThat(http.getMessage()).isEqualTo("why and what to do");
        }
    }
}
