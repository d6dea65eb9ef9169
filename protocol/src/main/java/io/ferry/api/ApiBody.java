package io.ferry.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.lang.reflect.RecordComponent;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.StringJoiner;

/**
 * Binds a request body to a Java record, strictly: the body must be a JSON object whose keys are
 * exactly the record's components, each present, non-null and of the component's JSON type (no
 * coercion: {@code 5} is not a string, {@code "5"} is not a number). Every refusal is an
 * {@link ApiException} 400 whose message names the offending key and shows the expected shape, so
 * a destructive action never runs on a body that does not say what to do.
 *
 * <p>A record may check its values further in its canonical constructor and throw
 * {@link ApiException} there; that exception reaches the client as it is.
 *
 * <p>Error codes (stable): {@code missing_body} (none sent), {@code not_an_object} (e.g. {@code []}
 * or {@code "x"}), {@code unknown_field}, {@code missing_field} (absent or null) and
 * {@code bad_field} (wrong type). Invalid JSON is refused earlier with {@code bad_json}.
 * Thread-safe.
 */
public final class ApiBody {

    public static final String MISSING_BODY = "missing_body";
    public static final String NOT_AN_OBJECT = "not_an_object";
    public static final String UNKNOWN_FIELD = "unknown_field";
    public static final String MISSING_FIELD = "missing_field";
    public static final String BAD_FIELD = "bad_field";
    public static final String UNEXPECTED_BODY = "unexpected_body";

    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
            .disable(DeserializationFeature.UNWRAP_SINGLE_VALUE_ARRAYS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .withCoercionConfig(LogicalType.Textual, config -> config
                    .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            .withCoercionConfig(LogicalType.Integer, config -> config
                    .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail))
            .withCoercionConfig(LogicalType.Float, config -> config
                    .setCoercion(CoercionInputShape.String, CoercionAction.Fail))
            .withCoercionConfig(LogicalType.Boolean, config -> config
                    .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail))
            .build();

    private ApiBody() {
    }

    /**
     * {@code body} (as {@link ApiRequest#body()} holds it) bound to record {@code type}.
     *
     * @throws ApiException 400 as described in the class comment
     */
    public static <T extends Record> T read(JsonNode body, Class<T> type) {
        RecordComponent[] components = type.getRecordComponents();
        String shape = shape(components);
        if (body == null || body.isMissingNode()) {
            throw new ApiException(400, MISSING_BODY, "this request needs a JSON body " + shape);
        }
        if (!body.isObject()) {
            throw new ApiException(400, NOT_AN_OBJECT, "the request body must be a JSON object " + shape + ", got "
                    + kind(body));
        }
        Set<String> names = new LinkedHashSet<>();
        for (RecordComponent component : components) {
            names.add(component.getName());
        }
        for (Iterator<String> keys = body.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            if (!names.contains(key)) {
                throw new ApiException(400, UNKNOWN_FIELD, "unknown key \"" + printable(key)
                        + "\" in the request body; expected " + shape);
            }
        }
        for (String name : names) {
            JsonNode value = body.get(name);
            if (value == null || value.isNull()) {
                throw new ApiException(400, MISSING_FIELD, "key \"" + name + "\" is required in the request body "
                        + shape);
            }
        }
        try {
            return STRICT.treeToValue(body, type);
        } catch (ValueInstantiationException e) {
            if (e.getCause() instanceof ApiException refused) {
                throw refused;
            }
            throw ApiException.badRequest("the request body " + shape + " was refused: " + e.getOriginalMessage());
        } catch (JsonMappingException e) {
            String key = key(e);
            if (key == null) {
                throw ApiException.badRequest("the request body does not match " + shape + ": "
                        + e.getOriginalMessage());
            }
            throw new ApiException(400, BAD_FIELD, "key \"" + key + "\" must be "
                    + typeName(type, key) + ", got " + kind(body.get(key.split("\\.", 2)[0])) + "; expected " + shape);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw ApiException.badRequest("the request body does not match " + shape + ": " + e.getMessage());
        }
    }

    /**
     * Refuses a body on an endpoint that takes none (e.g. {@code DELETE /v1/groups/{g}/drill}).
     *
     * @throws ApiException 400 {@code unexpected_body}
     */
    public static void none(JsonNode body) {
        if (body != null && !body.isMissingNode()) {
            throw new ApiException(400, UNEXPECTED_BODY, "this request takes no body, got " + kind(body));
        }
    }

    private static String key(JsonMappingException e) {
        StringJoiner path = new StringJoiner(".");
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                path.add(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                path.add(Integer.toString(ref.getIndex()));
            }
        }
        return path.length() == 0 ? null : path.toString();
    }

    /** {@code {"point": string}} for a record {@code (String point)}. */
    static String shape(RecordComponent[] components) {
        StringJoiner shape = new StringJoiner(", ", "{", "}");
        for (RecordComponent component : components) {
            shape.add("\"" + component.getName() + "\": " + typeName(component.getType()));
        }
        return shape.toString();
    }

    private static String typeName(Class<?> recordType, String key) {
        for (RecordComponent component : recordType.getRecordComponents()) {
            if (component.getName().equals(key)) {
                return "a " + typeName(component.getType());
            }
        }
        return "of another type";
    }

    private static String typeName(Class<?> type) {
        if (type == String.class || type.isEnum()) {
            return "string";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "boolean";
        }
        if (type.isPrimitive() || Number.class.isAssignableFrom(type)) {
            return "number";
        }
        if (type.isArray() || Iterable.class.isAssignableFrom(type)) {
            return "array";
        }
        return "object";
    }

    private static String kind(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** A key as the message shows it: at most 64 characters, control characters escaped. */
    private static String printable(String key) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < key.length() && i < 64; i++) {
            char c = key.charAt(i);
            out.append(c < ' ' || c == '"' || c == '\\' ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return key.length() > 64 ? out + "..." : out.toString();
    }
}
