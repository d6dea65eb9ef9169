package io.ferry.api;

/**
 * Serves one route. Runs on the API server's handler threads, never on the event loop, so it may
 * block (a promote waits for the replica). It may throw {@link ApiException} to answer an error;
 * any other exception answers 500 and is logged with its stack trace (which the client never sees).
 */
@FunctionalInterface
public interface ApiHandler {

    ApiResponse handle(ApiRequest request) throws Exception;
}
