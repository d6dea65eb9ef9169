package io.ferry.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class RoutesTest {

    private static final ApiHandler OK = request -> ApiResponse.noContent();

    @Test
    void shouldRefuseTheSameRouteTwiceEvenWithOtherParameterNames() {
        Routes.Builder builder = Routes.builder().post("/v1/groups/{g}/promote", OK);

        assertThatThrownBy(() -> builder.post("/v1/groups/{group}/promote", OK))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("defined twice");
    }

    @Test
    void shouldRefuseBuiltInAndMalformedPatterns() {
        Routes.Builder builder = Routes.builder();

        assertThatThrownBy(() -> builder.get("/healthz", OK)).hasMessageContaining("built into");
        assertThatThrownBy(() -> builder.get("/metrics", OK)).hasMessageContaining("built into");
        assertThatThrownBy(() -> builder.get("v1/status", OK)).hasMessageContaining("must start with /");
        assertThatThrownBy(() -> builder.get("/v1/status/", OK)).hasMessageContaining("must start with /");
        assertThatThrownBy(() -> builder.get("/v1//status", OK)).hasMessageContaining("segment");
        assertThatThrownBy(() -> builder.get("/v1/{g}/{g}", OK)).hasMessageContaining("unique");
        assertThatThrownBy(() -> builder.get("/v1/{1g}", OK)).hasMessageContaining("parameter");
    }

    @Test
    void shouldResolveParametersAndReportAllowedMethods() {
        Routes routes = Routes.builder()
                .post("/v1/groups/{g}/drill", OK)
                .delete("/v1/groups/{g}/drill", OK)
                .build();

        Routes.Resolution found = routes.resolve("DELETE", List.of("v1", "groups", "db", "drill"));
        Routes.Resolution wrong = routes.resolve("GET", List.of("v1", "groups", "db", "drill"));
        Routes.Resolution missing = routes.resolve("GET", List.of("v1", "groups", "db"));
        Routes.Resolution emptyParam = routes.resolve("POST", List.of("v1", "groups", "", "drill"));

        assertThat(found).isInstanceOfSatisfying(Routes.Found.class,
                f -> assertThat(f.params()).containsEntry("g", "db"));
        assertThat(wrong).isInstanceOfSatisfying(Routes.WrongMethod.class,
                w -> assertThat(w.allowed()).containsExactly("DELETE", "POST"));
        assertThat(missing).isSameAs(Routes.NotFound.INSTANCE);
        assertThat(emptyParam).isSameAs(Routes.NotFound.INSTANCE);
    }
}
