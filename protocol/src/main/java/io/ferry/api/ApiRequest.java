package io.ferry.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * One authenticated request as a handler sees it.
 *
 * @param method      the HTTP method, upper case
 * @param path        the decoded path without the query
 * @param pathParams  the values of the route's {@code {name}} segments, percent-decoded; never
 *                    empty, {@code .}, {@code ..}, nor containing {@code /} or NUL, but otherwise
 *                    unchecked: a handler validates them (e.g. with {@code Names.check})
 * @param queryParams the query string's parameters
 * @param body        the parsed JSON body; {@code MissingNode} when the request had none, so
 *                    {@code body.path("point")} works either way
 */
public record ApiRequest(String method, String path, Map<String, String> pathParams,
                         Map<String, List<String>> queryParams, JsonNode body) {

    public ApiRequest {
        pathParams = Map.copyOf(pathParams);
        queryParams = Map.copyOf(queryParams);
    }

    /**
     * The value of path parameter {@code name}.
     *
     * @throws IllegalArgumentException if the route has no such parameter (a programming error)
     */
    public String param(String name) {
        String value = pathParams.get(name);
        if (value == null) {
            throw new IllegalArgumentException("route " + path + " has no path parameter {" + name + "}");
        }
        return value;
    }

    /**
     * The body bound strictly to record {@code type} ({@link ApiBody#read}): a JSON object with
     * exactly the record's keys, each of the right type.
     *
     * @throws ApiException 400 naming the offending key when it is not
     */
    public <T extends Record> T body(Class<T> type) {
        return ApiBody.read(body, type);
    }

    /** The first value of query parameter {@code name}, or null. */
    public String query(String name) {
        List<String> values = queryParams.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}
