package io.ferry.receiver.api;

import io.ferry.api.SyncStatus;
import io.ferry.replica.store.GroupState;

import io.ferry.receiver.session.GroupLink;
import io.ferry.replica.status.GroupView;
import io.ferry.time.EpochNanoClock;
import io.ferry.wire.VolumeInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * The receiver's {@code GET /v1/status} body, computed from the group links on request.
 *
 * <p>{@code state} of a group:
 * <ul>
 *   <li>{@code failed}: its journal or applier stopped ({@code failure} says why);</li>
 *   <li>{@code syncing}: no agent has connected and nothing was ever received, or the replica is
 *       more than one delta behind what is durable (applying is catching up);</li>
 *   <li>{@code replicating}: otherwise: the replica is at most one delta behind the journal,
 *       whether or not the agent is connected right now ({@code connected} tells).</li>
 * </ul>
 *   <li>{@code promoted}: promoted at this site (fenced: takes no deltas; its volumes are exported).</li>
 *   <li>{@code drill}: replicating (as above) while a drill's clones are exported ({@code drillSeq}).</li>
 * {@code oldestRecoverableSeq} and {@code undoBytes} tell how far back a promote or drill can go
 * and what the undo log costs on disk.
 *
 * <p>{@code consistent} is false while the group's first sync runs ({@code state} is then
 * {@code syncing}, {@code sync} its progress as the agent reported it); {@code lastConsistentSeq}
 * is the newest seq at which the replicas were a consistent copy.
 *
 * <p>{@code lagSeconds} is the receiver-side lag: the age of the oldest write that is durable
 * here but not yet applied to the replica, i.e. now minus its capture time on the agent; 0 when
 * the replica has applied everything durable. For deltas received before a restart the receiver
 * no longer knows the oldest capture time and uses the newest durable one instead (a lower bound).
 * The agent reports the RPO lag (captured but not yet durable here).
 */
public record ReceiverStatus(String id, List<Group> groups) {

    public static final String SYNCING = "syncing";
    public static final String REPLICATING = "replicating";
    public static final String FAILED = "failed";
    public static final String PROMOTED = "promoted";
    public static final String DRILL = "drill";

    /** One volume and its replica image. */
    public record Volume(String name, long sizeBytes, String replica) {
    }

    /** One consistency group. */
    public record Group(String name, String agent, String state, long receivedSeq, long appliedSeq, long durableSeq,
                        double lagSeconds, boolean connected, long bytesReceived, String failure,
                        long oldestRecoverableSeq, long undoBytes, Long drillSeq, List<Volume> volumes,
                        boolean consistent, long lastConsistentSeq, SyncStatus sync, DrWrites drWrites,
                        List<Generation> generations, AgentRelation agentRelation) {
    }

    /** One generation of the replicas' data: its id (hex) and the seq its first write follows. */
    public record Generation(String id, long startSeq) {
    }

    /**
     * How the agent's copy stood to this one at its last HELLO: {@code relation} from this site's
     * side (same, newer, older, split-brain, unrelated), the common ancestor, the seq where the
     * copies diverged, and the seqs each side wrote past it.
     */
    public record AgentRelation(String relation, String ancestorGeneration, long divergedAtSeq, long agentDivergentSeqs,
                                long drDivergentSeqs) {
    }

    /**
     * What was written at the DR site since the promote (null while the group replicates): the
     * capture's mode, the journal bytes holding those writes in order, and the dirty regions
     * kept for what the journal could not hold. A failback resyncs these.
     */
    public record DrWrites(String mode, long journalBytes, long dirtyBytes) {
    }

    public ReceiverStatus {
        groups = List.copyOf(groups);
    }

    /** The status now, from {@code links} in the given order. Thread-safe. */
    public static ReceiverStatus of(String receiverId, List<GroupLink> links, EpochNanoClock clock) {
        List<Group> groups = new ArrayList<>(links.size());
        for (GroupLink link : links) {
            groups.add(group(link, clock.epochNanos()));
        }
        return new ReceiverStatus(receiverId, groups);
    }

    static Group group(GroupLink link, long nowNanos) {
        GroupView target = link.view();
        String failure = target.failure();
        // read applied before durable and durable before received: each is >= the one read before it
        long appliedSeq = target.appliedSeq();
        long durableSeq = Math.max(appliedSeq, target.durableSeq());
        long receivedSeq = Math.max(durableSeq, target.receivedSeq());
        boolean connected = link.connected();

        long lagNanos = 0;
        if (appliedSeq < durableSeq) {
            long oldestNanos = link.oldestUnappliedCaptureNanos(appliedSeq);
            if (oldestNanos < 0) {
                oldestNanos = target.lastDurableCaptureNanos();
            }
            lagNanos = oldestNanos > 0 ? Math.max(0, nowNanos - oldestNanos) : 0;
        }

        String state;
        if (link.promoted()) {
            state = PROMOTED;
        } else if (failure != null) {
            state = FAILED;
        } else if (target.drilling()) {
            state = DRILL;
        } else if (!target.consistent()) {
            state = SYNCING;
        } else if (!connected && receivedSeq == 0) {
            state = SYNCING;
        } else if (appliedSeq < durableSeq && appliedSeq < lastBoundaryBefore(link, durableSeq)) {
            state = SYNCING;
        } else {
            state = REPLICATING;
        }

        List<Volume> volumes = new ArrayList<>();
        for (VolumeInfo volume : target.volumes()) {
            volumes.add(new Volume(volume.name(), volume.sizeBytes(), target.replicaPath(volume.name()).toString()));
        }
        return new Group(link.group(), link.agentId(), state, receivedSeq, appliedSeq, durableSeq,
                lagNanos / 1e9, connected, link.bytesReceived(), failure, target.oldestRecoverableSeq(),
                target.undoBytes(), target.drilling() ? target.drillSeq() : null, volumes, target.consistent(),
                target.lastConsistentSeq(), syncStatus(target.syncProgress(), nowNanos), drWrites(link.drCapture()),
                generations(link.target().history()), agentRelation(link.agentRelation()));
    }

    private static List<Generation> generations(io.ferry.generation.GenerationHistory history) {
        List<Generation> out = new ArrayList<>();
        for (var entry : history.entries()) {
            out.add(new Generation(Long.toHexString(entry.id()), entry.startSeq()));
        }
        return out;
    }

    private static AgentRelation agentRelation(io.ferry.generation.GenerationHistory.Relation relation) {
        if (relation == null) {
            return null;
        }
        String kind = relation.kind().label();
        return new AgentRelation(kind, relation.ancestor() == null ? null : Long.toHexString(relation.ancestor().id()),
                relation.divergedAtSeq(), relation.otherDivergentSeqs(), relation.selfDivergentSeqs());
    }

    private static DrWrites drWrites(io.ferry.capture.GroupCapture capture) {
        if (capture == null) {
            return null;
        }
        return new DrWrites(capture.pipeline().bitmapMode() ? "bitmap" : "journal",
                capture.capture().journal().bytesOnDisk(), capture.dirty().dirtyBytes());
    }

    private static SyncStatus syncStatus(GroupState.Sync sync, long nowNanos) {
        return sync == null ? null : SyncStatus.of(sync.kind(), sync.totalBytes(), sync.doneBytes(), sync.doneBytes(),
                sync.startEpochNanos(), nowNanos);
    }

    /**
     * The delta boundary just before the last durable delta, as far as this link saw it: the replica
     * is "one delta behind" when it reached it. Unknown after a restart (any lag counts as behind).
     */
    private static long lastBoundaryBefore(GroupLink link, long durableSeq) {
        long lastFirstSeq = link.lastDeltaFirstSeq();
        if (lastFirstSeq == 0 || lastFirstSeq > durableSeq) {
            return durableSeq;
        }
        return lastFirstSeq - 1;
    }
}
