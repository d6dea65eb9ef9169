package io.ferry.receiver.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiException;
import io.ferry.api.ApiResponse;
import io.ferry.api.Routes;
import io.ferry.config.Names;
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

    /** Carries out {@code POST /v1/groups/{g}/promote}; throws {@link ApiException} to refuse. */
    @FunctionalInterface
    public interface Promoter {
        /** Promotes {@code group} (known to exist) to {@code point} ("latest") and returns the reply body. */
        Object promote(String group, String point) throws Exception;
    }

    /** Lists the recovery points of a group for {@code GET /v1/groups/{g}/points}. */
    @FunctionalInterface
    public interface PointLister {
        /** The retained points of {@code group} (known to exist), oldest first. */
        List<RecoveryPoints.Point> points(String group);
    }

    /** The routes for a receiver named {@code receiverId} with these groups (in config order), without promote. */
    public static Routes routes(String receiverId, List<GroupLink> links, EpochNanoClock clock) {
        return routes(receiverId, links, clock, (group, point) -> {
            throw new ApiException(501, "not_supported", "this receiver does not promote groups");
        });
    }

    /**
     * The routes, with {@code POST /v1/groups/{g}/promote} (body {@code {"point": "latest"}}, a
     * missing point meaning latest) handed to {@code promoter}.
     */
    public static Routes routes(String receiverId, List<GroupLink> links, EpochNanoClock clock, Promoter promoter) {
        return routes(receiverId, links, clock, promoter, group -> List.of());
    }

    /**
     * The routes, with promote and {@code GET /v1/groups/{g}/points} ({@code [{id, seq, time,
     * kind, label}]}, time ISO-8601 UTC) answered from {@code points}.
     */
    public static Routes routes(String receiverId, List<GroupLink> links, EpochNanoClock clock, Promoter promoter,
            PointLister points) {
        List<GroupLink> groups = List.copyOf(links);
        return Routes.builder()
                .get("/v1/groups/{g}/points", request -> ApiResponse.ok(
                        pointsBody(points.points(find(groups, request.param("g")).group()))))
                .post("/v1/groups/{g}/promote", request -> {
                    GroupLink link = find(groups, request.param("g"));
                    JsonNode point = request.body().path("point");
                    String pointId = point.isMissingNode() || point.isNull() ? LATEST : point.asText();
                    if (!LATEST.equals(pointId)) {
                        throw new ApiException(400, "unsupported_point", "point \"" + pointId + "\" cannot be"
                                + " promoted to: this receiver promotes only to \"latest\"; point-in-time promote"
                                + " arrives with recovery points");
                    }
                    return ApiResponse.ok(promoter.promote(link.group(), LATEST));
                })
                .get("/v1/status", request -> ApiResponse.ok(ReceiverStatus.of(receiverId, groups, clock)))
                .get("/v1/groups/{g}", request -> ApiResponse.ok(
                        ReceiverStatus.group(find(groups, request.param("g")), clock.epochNanos())))
                .metrics(() -> metrics(receiverId, groups, clock))
                .build();
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
        gauge(out, status, "ferry_receiver_connected", "1 while the owning agent has a session", group ->
                group.connected() ? 1 : 0);
        header(out, "ferry_receiver_group_state", "gauge", "1 for the group's current state");
        for (ReceiverStatus.Group group : status.groups()) {
            for (String state : List.of(ReceiverStatus.SYNCING, ReceiverStatus.REPLICATING, ReceiverStatus.FAILED,
                    ReceiverStatus.PROMOTED)) {
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
