package io.ferry.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import org.junit.jupiter.api.Test;

class ApiBodyTest {

    record Point(String point) {
    }

    record Sized(String name, long sizeBytes, boolean sparse) {
        Sized {
            if (sizeBytes <= 0) {
                throw new ApiException(400, ApiBody.BAD_FIELD, "key \"sizeBytes\" must be positive");
            }
        }
    }

    private static JsonNode json(String text) throws Exception {
        return ApiJson.MAPPER.readTree(text);
    }

    private static ApiException refusal(JsonNode body, Class<? extends Record> type) {
        ApiException e = catchThrowableOfType(ApiException.class, () -> ApiBody.read(body, type));
        assertThat(e).as("%s", body).isNotNull();
        assertThat(e.status()).isEqualTo(400);
        return e;
    }

    @Test
    void shouldBindAnObjectWithExactlyTheRecordsKeys() throws Exception {
        assertThat(ApiBody.read(json("{\"point\": \"latest\"}"), Point.class)).isEqualTo(new Point("latest"));
        assertThat(ApiBody.read(json("{\"sparse\": true, \"name\": \"v\", \"sizeBytes\": 4096}"), Sized.class))
                .isEqualTo(new Sized("v", 4096, true));
    }

    @Test
    void shouldRefuseAMissingBodyAndBodiesThatAreNotObjects() throws Exception {
        assertThat(refusal(MissingNode.getInstance(), Point.class).code()).isEqualTo("missing_body");
        assertThat(refusal(null, Point.class).code()).isEqualTo("missing_body");
        for (String text : new String[] {"[]", "[{\"point\": \"latest\"}]", "null", "\"latest\"", "42", "true"}) {
            ApiException e = refusal(json(text), Point.class);
            assertThat(e.code()).isEqualTo("not_an_object");
            assertThat(e.getMessage()).contains("{\"point\": string}");
        }
    }

    @Test
    void shouldRefuseUnknownKeysNamingThem() throws Exception {
        ApiException e = refusal(json("{\"name\": \"p1\"}"), Point.class);
        assertThat(e.code()).isEqualTo("unknown_field");
        assertThat(e.getMessage()).contains("\"name\"");
        ApiException extra = refusal(json("{\"point\": \"latest\", \"force\": true}"), Point.class);
        assertThat(extra.code()).isEqualTo("unknown_field");
        assertThat(extra.getMessage()).contains("\"force\"");
    }

    @Test
    void shouldRefuseAbsentOrNullKeysNamingThem() throws Exception {
        for (String text : new String[] {"{}", "{\"point\": null}"}) {
            ApiException e = refusal(json(text), Point.class);
            assertThat(e.code()).isEqualTo("missing_field");
            assertThat(e.getMessage()).contains("\"point\"");
        }
        ApiException e = refusal(json("{\"name\": \"v\", \"sizeBytes\": 1}"), Sized.class);
        assertThat(e.code()).isEqualTo("missing_field");
        assertThat(e.getMessage()).contains("\"sparse\"");
    }

    @Test
    void shouldRefuseWrongTypesWithoutCoercionNamingTheKey() throws Exception {
        for (String text : new String[] {"{\"point\": 5}", "{\"point\": 1.5}", "{\"point\": true}",
                "{\"point\": [\"latest\"]}", "{\"point\": {}}"}) {
            ApiException e = refusal(json(text), Point.class);
            assertThat(e.code()).as(text).isEqualTo("bad_field");
            assertThat(e.getMessage()).as(text).contains("\"point\"").contains("string");
        }
        for (String text : new String[] {"{\"name\": \"v\", \"sizeBytes\": \"4096\", \"sparse\": true}",
                "{\"name\": \"v\", \"sizeBytes\": 1.5, \"sparse\": true}"}) {
            ApiException e = refusal(json(text), Sized.class);
            assertThat(e.code()).as(text).isEqualTo("bad_field");
            assertThat(e.getMessage()).as(text).contains("\"sizeBytes\"");
        }
        ApiException e = refusal(json("{\"name\": \"v\", \"sizeBytes\": 1, \"sparse\": \"yes\"}"), Sized.class);
        assertThat(e.getMessage()).contains("\"sparse\"");
    }

    @Test
    void shouldPassOnTheRecordsOwnRefusal() throws Exception {
        ApiException e = refusal(json("{\"name\": \"v\", \"sizeBytes\": 0, \"sparse\": true}"), Sized.class);
        assertThat(e.code()).isEqualTo("bad_field");
        assertThat(e.getMessage()).isEqualTo("key \"sizeBytes\" must be positive");
    }

    @Test
    void shouldRefuseABodyWhereNoneIsTaken() throws Exception {
        ApiBody.none(MissingNode.getInstance());
        ApiException e = catchThrowableOfType(ApiException.class, () -> ApiBody.none(json("{}")));
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.code()).isEqualTo("unexpected_body");
    }
}
