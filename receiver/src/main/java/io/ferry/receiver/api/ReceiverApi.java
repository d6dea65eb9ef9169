package io.ferry.receiver.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiException;
import io.ferry.api.ApiResponse;
import io.ferry.api.Routes;
import io.ferry.config.Names;
import io.ferry.receiver.recovery.GroupRecovery;
import io.ferry.receiver.recovery.RecoveryException;
import io.ferry.receiver.session.GroupLink;
import io.ferry.time.EpochNanoClock;
import io.ferry.receiver.store.RecoveryPoints;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

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
     * /v1/groups/{g}/drill} (body {@code {"point": ID}}, a missing point meaning latest), and
     * {@code GET /v1/groups/{g}/points} ({@code [{id, seq, time, kind, label}]}, time ISO-8601
     * UTC), handed to {@code recovery}.
     */
    public static Routes routes(String receiverId, List<GroupLink> links, EpochNanoClock clock, Recovery recovery) {
        List<GroupLink> groups = List.copyOf(links);
        return Routes.builder()
                .get("/v1/groups/{g}/points", request -> ApiResponse.ok(
                        pointsBody(recovery.points(find(groups, request.param("g")).group()))))
                .post("/v1/groups/{g}/promote", request -> ApiResponse.ok(recovery.promote(
                        find(groups, request.param("g")).group(), pointOf(request.body()))))
                .post("/v1/groups/{g}/drill", request -> ApiResponse.ok(recovery.startDrill(
                        find(groups, request.param("g")).group(), pointOf(request.body()))))
                .delete("/v1/groups/{g}/drill", request -> ApiResponse.ok(recovery.stopDrill(
                        find(groups, request.param("g")).group())))
                .get("/v1/status", request -> ApiResponse.ok(ReceiverStatus.of(receiverId, groups, clock)))
                .get("/v1/groups/{g}", request -> ApiResponse.ok(
                        ReceiverStatus.group(find(groups, request.param("g")), clock.epochNanos())))
                .metrics(() -> metrics(receiverId, groups, clock))
                .build();
    }

    private static String pointOf(JsonNode body) {
        JsonNode point = body == null ? null : body.path("point");
        if (point == null || point.isMissingNode() || point.isNull()) {
            return LATEST;
        }
        if (!point.isTextual() || point.asText().isEmpty()) {
            throw ApiException.badRequest("\"point\" must be a recovery point id (see GET /v1/groups/{g}/points) or"
                    + " \"latest\", got " + point);
        }
        return point.asText();
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

    /** Prometheus text exposition of every group's seqs, lag, bytes and connection. */
    public static String metrics(String receiverId, List<GroupLink> groups, EpochNanoClock clock) {
        ReceiverStatus status = ReceiverStatus.of(receiverId, groups, clock);
        StringBuilder out = new StringBuilder(1024);
        gauge(out, status, "ferry_receiver_received_seq", "Highest seq received from the agent",
                group -> group.receivedSeq());
        gauge(out, status, "ferry_receiver_durable_seq", "Highest seq synced in the receiver journal (acknowledged)",
                group -> group.durableSeq());
        gauge(out, status, "ferry_receiver_applied_seq", "Highest seq applied to the replicas",
                group -> group.appliedSeq());
        gauge(out, status, "ferry_receiver_lag_seconds",
                "Age of the oldest write durable on the receiver but not yet applied", group -> group.lagSeconds());
        header(out, "ferry_receiver_received_bytes_total", "counter",
                "DELTA bytes received (as sent, compressed) since the receiver started");
        for (ReceiverStatus.Group group : status.groups()) {
            sample(out, "ferry_receiver_received_bytes_total", group, group.bytesReceived());
        }
        gauge(out, status, "ferry_receiver_undo_bytes", "Bytes the undo log holds (point-in-time recovery)",
                group -> group.undoBytes());
        gauge(out, status, "ferry_receiver_oldest_recoverable_seq",
                "Oldest seq a promote or drill can roll back to", group -> group.oldestRecoverableSeq());
        gauge(out, status, "ferry_receiver_connected", "1 while the owning agent has a session", group ->
                group.connected() ? 1 : 0);
        header(out, "ferry_receiver_group_state", "gauge", "1 for the group's current state");
        for (ReceiverStatus.Group group : status.groups()) {
            for (String state : List.of(ReceiverStatus.SYNCING, ReceiverStatus.REPLICATING, ReceiverStatus.FAILED,
                    ReceiverStatus.PROMOTED, ReceiverStatus.DRILL)) {
                out.append("ferry_receiver_group_state{group=\"").append(group.name()).append("\",agent=\"")
                        .append(group.agent()).append("\",state=\"").append(state).append("\"} ")
                        .append(state.equals(group.state()) ? 1 : 0).append('\n');
            }
        }
        return out.toString();
    }

    private interface Value {
        double of(ReceiverStatus.Group group);
    }

    private static void gauge(StringBuilder out, ReceiverStatus status, String name, String help, Value value) {
        header(out, name, "gauge", help);
        for (ReceiverStatus.Group group : status.groups()) {
            sample(out, name, group, value.of(group));
        }
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, ReceiverStatus.Group group, double value) {
        // group and agent names are [A-Za-z0-9._-]: nothing to escape in a label value
        out.append(name).append("{group=\"").append(group.name()).append("\",agent=\"").append(group.agent())
                .append("\"} ");
        if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            out.append((long) value);
        } else {
            out.append(String.format(Locale.ROOT, "%.6f", value));
        }
        out.append('\n');
    }
}
