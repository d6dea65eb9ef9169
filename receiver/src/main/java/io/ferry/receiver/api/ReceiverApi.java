package io.ferry.receiver.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiBody;
import io.ferry.api.ApiException;
import io.ferry.api.ApiResponse;
import io.ferry.api.Routes;
import io.ferry.config.Names;
import io.ferry.metrics.MetricsRegistry;
import io.ferry.receiver.recovery.GroupRecovery;
import io.ferry.receiver.recovery.RecoveryException;
import io.ferry.receiver.session.GroupLink;
import io.ferry.time.EpochNanoClock;
import io.ferry.replica.store.RecoveryPoints;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The receiver's management API routes ({@code io.ferry.api} serves them behind the bearer token):
 * {@code GET /v1/status} ({@link ReceiverStatus}), {@code GET /v1/groups/{g}} (one group of it)
 * and the Prometheus text of {@code GET /metrics}. Handlers only read the groups' counters, so they
 * run on the API's handler threads without locking anything but a group link for a moment.
 */
public final class ReceiverApi {

    /** The point that means everything durable at the DR site. */
    public static final String LATEST = "latest";

    private ReceiverApi() {
    }

    /**
     * What the recovery endpoints do: promote, the points list and drills. Each method gets a
     * group known to exist and throws {@link ApiException} to refuse.
     */
    public interface Recovery {
        /** {@code POST /v1/groups/{g}/promote}: {@code point} is a point id or "latest". */
        Object promote(String group, String point) throws Exception;

        /** {@code GET /v1/groups/{g}/points}: the retained points, oldest first. */
        List<RecoveryPoints.Point> points(String group);

        /** {@code POST /v1/groups/{g}/drill}: {@code point} is a point id or "latest". */
        Object startDrill(String group, String point) throws Exception;

        /** {@code DELETE /v1/groups/{g}/drill}. */
        Object stopDrill(String group) throws Exception;
    }

    /**
     * The recovery endpoints served by the receiver's use cases: a {@link RecoveryException} they
     * throw becomes the HTTP error here (see {@link #http}), and only here.
     */
    public static Recovery recovery(GroupRecovery recovery, EpochNanoClock clock) {
        return new Recovery() {
            @Override
            public Object promote(String group, String point) throws Exception {
                try {
                    return recovery.promote(group, point, clock.epochNanos());
                } catch (RecoveryException e) {
                    throw http(e);
                }
            }

            @Override
            public List<RecoveryPoints.Point> points(String group) {
                try {
                    return recovery.points(group);
                } catch (RecoveryException e) {
                    throw http(e);
                }
            }

            @Override
            public Object startDrill(String group, String point) throws Exception {
                try {
                    return recovery.startDrill(group, point);
                } catch (RecoveryException e) {
                    throw http(e);
                }
            }

            @Override
            public Object stopDrill(String group) throws Exception {
                try {
                    return recovery.stopDrill(group);
                } catch (RecoveryException e) {
                    throw http(e);
                }
            }
        };
    }

    /**
     * The HTTP answer to a refused promote or drill, with its stable code as {@code error}: 404
     * for what does not exist (unknown_group, unknown_point), 409 for what the group's state
     * forbids (point_expired, already_promoted, promoted, drill_running, no_drill, no_volumes,
     * group_failed, no_nbd_listener, drill_refused), 503 for what may work later (apply_timeout).
     */
    public static ApiException http(RecoveryException e) {
        int status = switch (e.error().kind()) {
            case NOT_FOUND -> 404;
            case CONFLICT -> 409;
            case UNAVAILABLE -> 503;
        };
        return new ApiException(status, e.code(), e.getMessage());
    }

    /** The routes for a receiver named {@code receiverId} with these groups (in config order), without recovery. */
    public static Routes routes(String receiverId, List<GroupLink> links, EpochNanoClock clock) {
        return routes(receiverId, links, clock, new Recovery() {
            @Override
            public Object promote(String group, String point) {
                throw notSupported();
            }

            @Override
            public List<RecoveryPoints.Point> points(String group) {
                return List.of();
            }

            @Override
            public Object startDrill(String group, String point) {
                throw notSupported();
            }

            @Override
            public Object stopDrill(String group) {
                throw notSupported();
            }

            private ApiException notSupported() {
                return new ApiException(501, "not_supported", "this receiver does not promote or drill groups");
            }
        });
    }

    /**
     * The routes, with {@code POST /v1/groups/{g}/promote} and {@code POST|DELETE
     * /v1/groups/{g}/drill} (body {@code {"point": ID}} or {@code {"point": "latest"}}, required: see
     * {@link PointBody}), and
     * {@code GET /v1/groups/{g}/points} ({@code [{id, seq, time, kind, label}]}, time ISO-8601
     * UTC), handed to {@code recovery}.
     */
    public static Routes routes(String receiverId, List<GroupLink> links, EpochNanoClock clock, Recovery recovery) {
        return routes(receiverId, links, clock, new MetricsRegistry(), recovery);
    }

    /**
     * As {@link #routes(String, List, EpochNanoClock, Recovery)}, serving {@code metrics} (where
     * the receiver's components record their latencies) with the groups' gauges registered on it.
     */
    public static Routes routes(String receiverId, List<GroupLink> links, EpochNanoClock clock, MetricsRegistry metrics,
                                Recovery recovery) {
        List<GroupLink> groups = List.copyOf(links);
        ReceiverMetrics.register(metrics, receiverId, groups, clock);
        return Routes.builder()
                .get("/v1/groups/{g}/points", request -> ApiResponse.ok(
                        pointsBody(recovery.points(find(groups, request.param("g")).group()))))
                .post("/v1/groups/{g}/promote", request -> ApiResponse.ok(recovery.promote(
                        find(groups, request.param("g")).group(), pointOf(request.body()))))
                .post("/v1/groups/{g}/drill", request -> ApiResponse.ok(recovery.startDrill(
                        find(groups, request.param("g")).group(), pointOf(request.body()))))
                .delete("/v1/groups/{g}/drill", request -> {
                    ApiBody.none(request.body());
                    return ApiResponse.ok(recovery.stopDrill(find(groups, request.param("g")).group()));
                })
                .get("/v1/status", request -> ApiResponse.ok(ReceiverStatus.of(receiverId, groups, clock)))
                .get("/v1/groups/{g}", request -> ApiResponse.ok(
                        ReceiverStatus.group(find(groups, request.param("g")), clock.epochNanos())))
                .metrics(metrics::scrape)
                .build();
    }

    /**
     * The body of promote and drill start: {@code {"point": "latest"}} or {@code {"point": ID}}.
     * The point is required: a destructive action never defaults to one.
     */
    public record PointBody(String point) {
        public PointBody {
            if (point.isBlank()) {
                throw new ApiException(400, ApiBody.BAD_FIELD, "key \"point\" must be a recovery point id (see GET"
                        + " /v1/groups/{g}/points) or \"latest\", got an empty string");
            }
        }
    }

    private static String pointOf(JsonNode body) {
        return ApiBody.read(body, PointBody.class).point();
    }

    private static List<Map<String, Object>> pointsBody(List<RecoveryPoints.Point> points) {
        List<Map<String, Object>> body = new ArrayList<>(points.size());
        for (RecoveryPoints.Point p : points) {
            Map<String, Object> point = new LinkedHashMap<>();
            point.put("id", p.id());
            point.put("seq", p.seq());
            point.put("time", Instant.ofEpochSecond(0, p.epochNanos()).toString());
            point.put("kind", p.kind());
            point.put("label", p.label());
            body.add(point);
        }
        return body;
    }

    private static GroupLink find(List<GroupLink> groups, String name) {
        if (!Names.isValid(name)) {
            throw ApiException.badRequest("\"" + name + "\" is not a valid group name");
        }
        for (GroupLink link : groups) {
            if (link.group().equals(name)) {
                return link;
            }
        }
        throw new ApiException(404, "unknown_group", "group \"" + name + "\" is not configured on this receiver");
    }

    /** Prometheus text exposition of every group's seqs, lag, bytes and connection (no latency histograms). */
    public static String metrics(String receiverId, List<GroupLink> groups, EpochNanoClock clock) {
        MetricsRegistry registry = new MetricsRegistry();
        ReceiverMetrics.register(registry, receiverId, groups, clock);
        return registry.scrape();
    }
}
