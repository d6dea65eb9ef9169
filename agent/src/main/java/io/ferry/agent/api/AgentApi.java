package io.ferry.agent.api;

import io.ferry.agent.AgentNode;
import io.ferry.agent.config.GroupConfig;
import io.ferry.agent.config.VolumeConfig;
import io.ferry.capture.ship.Shipper;
import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.api.ApiBody;
import io.ferry.api.ApiException;
import io.ferry.api.ApiResponse;
import io.ferry.api.Routes;
import io.ferry.wire.Bookmark;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The agent's management API (DESIGN.md contract): status, capabilities (what a Cinder driver
 * reports), bookmarks, Prometheus metrics. Reads only thread-safe views of the running node.
 */
public final class AgentApi {
    /** Shortest RPO the agent supports (synchronous) and the longest one it accepts. */
    public static final long MIN_RPO_SECONDS = 0;
    public static final long MAX_RPO_SECONDS = 24 * 3600;

    private final AgentNode node;

    /** Registers the agent's gauges and counters on the node's metrics registry (once per node). */
    public AgentApi(AgentNode node) {
        this.node = node;
        AgentMetrics.register(node.metrics(), node);
    }

    public Routes routes() {
        return Routes.builder()
                .get("/v1/status", request -> ApiResponse.ok(status()))
                .get("/v1/capabilities", request -> ApiResponse.ok(capabilities()))
                .post("/v1/groups/{g}/bookmarks", request -> ApiResponse.accepted(
                        bookmark(request.param("g"), request.body())))
                .post("/v1/groups/{g}/verify", request -> ApiResponse.accepted(
                        startVerify(request.param("g"), request.body())))
                .get("/v1/groups/{g}/verify", request -> ApiResponse.ok(verify(request.param("g"))))
                .metrics(node.metrics()::scrape)
                .build();
    }

    /**
     * {@code POST /v1/groups/{g}/bookmarks {"name": LABEL}}: marks the group's captured seq (every
     * write answered before this request) with LABEL; the shipper sends the marker in order with
     * the deltas and the receiver keeps it as a recovery point. Returns {@code {group, seq, name}}.
     */
    Map<String, Object> bookmark(String group, JsonNode body) {
        String label = bookmarkLabel(body);
        AgentNode.Group found = null;
        for (AgentNode.Group g : node.groups()) {
            if (g.config().name().equals(group)) {
                found = g;
            }
        }
        if (found == null) {
            throw new ApiException(404, "unknown_group", "group \"" + group + "\" is not configured on this agent");
        }
        Shipper shipper = node.shipper();
        if (shipper == null) {
            throw new ApiException(409, "not_replicating", "group \"" + group + "\" is not replicated (this agent has"
                    + " no receiver), so a bookmark would never reach a recovery point");
        }
        if (found.pipeline().fenced()) {
            throw new ApiException(409, "fenced", "group \"" + group + "\" is fenced: the DR site promoted it at seq "
                    + found.pipeline().fencedSeq() + ", so this agent takes no writes and makes no recovery points for"
                    + " it; take the bookmark at the DR site's copy instead");
        }
        if (found.pipeline().bitmapMode()) {
            throw new ApiException(409, "bitmap_mode", "group \"" + group + "\" is in bitmap mode (its journal reached"
                    + " journal.maxBytes while the receiver was away): the receiver gets the volumes back by a resync,"
                    + " never as they are now, so a bookmark could not become a recovery point; retry once the resync"
                    + " ended (status mode: journal, no sync)");
        }
        long seq = found.pipeline().capturedSeq();
        if (shipper.bookmark(group, seq, label) == Shipper.BookmarkOutcome.BACKLOG_FULL) {
            throw new ApiException(503, "bookmark_backlog", "group \"" + group + "\" already has "
                    + "the most bookmarks waiting for the receiver's acknowledgement (is it disconnected?); retry later");
        }
        Map<String, Object> reply = new LinkedHashMap<>();
        reply.put("group", group);
        reply.put("seq", seq);
        reply.put("name", label);
        return reply;
    }

    /** The body of {@code POST /v1/groups/{g}/verify}: whether to repair what differs. */
    public record VerifyBody(Boolean repair) {
    }

    /**
     * {@code POST /v1/groups/{g}/verify {"repair": BOOL}}: compares every block of the group's
     * volumes with the replica, each region at the exact seq the agent read it at, while writes go
     * on; with repair the differing ranges are sent again. Answers 202 with the verify's state
     * ({@link #verify}).
     */
    Object startVerify(String group, JsonNode body) throws InterruptedException {
        boolean repair = ApiBody.read(body, VerifyBody.class).repair();
        Shipper shipper = replicatingShipper(group);
        String refusal = shipper.verify(group, repair);
        if (refusal != null) {
            throw switch (refusal) {
                case "sync_running" -> new ApiException(409, "sync_running", "group \"" + group + "\" has a sync or"
                        + " verify running; wait for it to end (GET /v1/groups/" + group + "/verify, or status)");
                case "not_connected" -> new ApiException(409, "not_connected", "group \"" + group + "\" is not"
                        + " connected to its receiver; a verify compares with the replica there");
                case "fenced" -> new ApiException(409, "promoted", "group \"" + group + "\" was promoted at the DR"
                        + " site; its replica is a primary now, there is nothing to verify against");
                default -> new ApiException(409, "verify_refused", "group \"" + group + "\" cannot be verified: "
                        + refusal);
            };
        }
        return verify(group);
    }

    /** {@code GET /v1/groups/{g}/verify}: the verify running or last run; 404 when none ran since the start. */
    Object verify(String group) {
        Shipper shipper = replicatingShipper(group);
        Object run = shipper.group(group).verify();
        if (run == null) {
            throw new ApiException(404, "no_verify", "group \"" + group + "\" has not been verified since the agent"
                    + " started; POST /v1/groups/" + group + "/verify starts one");
        }
        return run;
    }

    private Shipper replicatingShipper(String group) {
        if (node.group(group) == null) {
            throw new ApiException(404, "unknown_group", "group \"" + group + "\" is not configured on this agent");
        }
        Shipper shipper = node.shipper();
        if (shipper == null) {
            throw new ApiException(409, "not_replicating", "group \"" + group + "\" is not replicated (this agent has"
                    + " no receiver); there is no replica to verify against");
        }
        return shipper;
    }

    /** The body of {@code POST /v1/groups/{g}/bookmarks}. */
    public record BookmarkBody(String name) {
    }

    /** The label of a bookmark request: {@code name}, a string of 1 to 256 UTF-8 bytes without control characters. */
    static String bookmarkLabel(JsonNode body) {
        String label = ApiBody.read(body, BookmarkBody.class).name();
        int bytes = label.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > Bookmark.MAX_LABEL_BYTES) {
            throw ApiException.badRequest("name is " + bytes + " bytes of UTF-8; a bookmark label must be 1 to "
                    + Bookmark.MAX_LABEL_BYTES + " bytes");
        }
        if (label.chars().anyMatch(Character::isISOControl)) {
            throw ApiException.badRequest("name must not contain control characters");
        }
        return label;
    }

    public Map<String, Object> status() {
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("id", node.config().id());
        Shipper shipper = node.shipper();
        Map<String, Object> receiver = new LinkedHashMap<>();
        receiver.put("address", node.config().receiver() == null ? null : node.config().receiver().toString());
        receiver.put("connected", shipper != null && shipper.connected());
        if (shipper != null && !shipper.connected()) {
            receiver.put("problem", shipper.linkProblem());
        }
        status.put("receiver", receiver);
        List<Object> groups = new ArrayList<>();
        for (AgentNode.Group group : node.groups()) {
            GroupConfig config = group.config();
            Shipper.GroupView view = shipper == null ? null : shipper.group(config.name());
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("name", config.name());
            g.put("rpoSeconds", config.rpo().toMillis() / 1000.0);
            String failure = group.pipeline().failure();
            boolean fenced = group.pipeline().fenced();
            g.put("state", failure != null ? "failed" : fenced ? "fenced" : view == null ? "capturing" : view.state());
            g.put("capturedSeq", group.pipeline().capturedSeq());
            g.put("ackedSeq", view == null ? 0 : view.ackedSeq());
            g.put("lagSeconds", view == null ? 0.0 : view.lagSeconds());
            g.put("rpoBreach", view != null && view.rpoBreach());
            g.put("journalBytes", group.journal().bytesOnDisk());
            g.put("mode", group.pipeline().bitmapMode() ? "bitmap" : "journal");
            var dirty = group.pipeline().dirtyMap();
            g.put("dirtyBytes", dirty == null ? 0L : dirty.dirtyBytes());
            // once fenced, the dirty map stands for what the agent wrote that the promoted DR copy lacks
            g.put("divergentBytes", fenced && dirty != null ? dirty.dirtyBytes() : 0L);
            g.put("sync", view == null ? null : view.sync());
            g.put("generationId", Long.toHexString(group.identity().generationId()));
            if (view != null && view.relation() != null) {
                g.put("peer", relation(view.relation()));
            }
            if (view != null) {
                g.put("bytesCaptured", view.bytesCaptured());
                g.put("bytesShipped", view.bytesShipped());
                g.put("worstLagSeconds", view.worstLagSeconds());
                if (view.problem() != null) {
                    g.put("problem", view.problem());
                }
            } else if (failure != null) {
                g.put("problem", failure);
            }
            List<Object> volumes = new ArrayList<>();
            for (VolumeConfig volume : config.volumes()) {
                Map<String, Object> v = new LinkedHashMap<>();
                v.put("name", volume.name());
                v.put("sizeBytes", volume.sizeBytes());
                v.put("export", volume.name());
                volumes.add(v);
            }
            g.put("volumes", volumes);
            groups.add(g);
        }
        status.put("groups", groups);
        return status;
    }

    private Map<String, Object> capabilities() {
        Map<String, Object> caps = new LinkedHashMap<>();
        caps.put("replication", node.config().receiver() != null);
        caps.put("targets", node.config().receiver() == null ? List.of() : List.of(node.config().receiver().toString()));
        caps.put("minRpoSeconds", MIN_RPO_SECONDS);
        caps.put("maxRpoSeconds", MAX_RPO_SECONDS);
        return caps;
    }

    /**
     * How a copy stands to its peer, as status shows it: {@code relation} (same, newer, older,
     * split-brain, unrelated), the common ancestor generation, the seq where they diverged and the
     * seqs this copy wrote past it.
     */
    static Map<String, Object> relation(io.ferry.generation.GenerationHistory.Relation relation) {
        Map<String, Object> peer = new LinkedHashMap<>();
        peer.put("relation", relation.kind().label());
        peer.put("ancestorGeneration", relation.ancestor() == null ? null : Long.toHexString(relation.ancestor().id()));
        peer.put("divergedAtSeq", relation.divergedAtSeq());
        peer.put("divergentSeqs", relation.selfDivergentSeqs());
        return peer;
    }
}
