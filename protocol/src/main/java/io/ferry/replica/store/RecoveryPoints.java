package io.ferry.replica.store;

import io.ferry.daemon.StateFiles;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.ferry.time.EpochNanoClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The recovery points of one group: an automatic point at an applied delta boundary at most once
 * per {@code pointInterval}, and a labelled point for every bookmark once its seq is applied.
 * Points older than {@code retention} are pruned (the latest is always kept). The list, and the
 * bookmarks received but not yet applied, are kept in {@code points.json} in the group directory,
 * rewritten atomically on every change, so they survive a restart.
 *
 * <h2>Threads</h2>
 * Owned by the group's applier thread: it calls {@link #onApplied} once per applied batch and
 * {@link #bookmark} for every operator bookmark (a session hands a BOOKMARK frame to the applier
 * as a command, so the file's syncs never run on an event loop). API threads call {@link #list}
 * and {@link #find}, which read a published immutable snapshot. The monitor only makes the rare
 * direct calls of tests and of {@code open} safe.
 */
public final class RecoveryPoints {
    private static final Logger LOG = LoggerFactory.getLogger(RecoveryPoints.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .enable(SerializationFeature.INDENT_OUTPUT);
    static final String FILE_NAME = "points.json";

    public static final String AUTO = "auto";
    public static final String BOOKMARK = "bookmark";

    /** How often automatic points are taken and how long points are kept. */
    public record Policy(Duration pointInterval, Duration retention) {
        public static final Policy DEFAULT = new Policy(Duration.ofSeconds(5), Duration.ofHours(1));

        public Policy {
            if (pointInterval == null || pointInterval.isNegative() || pointInterval.isZero()) {
                throw new IllegalArgumentException("pointInterval must be positive, got " + pointInterval);
            }
            if (retention == null || retention.isNegative() || retention.isZero()) {
                throw new IllegalArgumentException("retention must be positive, got " + retention);
            }
        }
    }

    /** One recovery point: the replicas' state once {@code seq} is applied. */
    public record Point(String id, long seq, long epochNanos, String kind, String label) {
    }

    private record PendingBookmark(long seq, String label) {
    }

    private final String group;
    private final Path file;
    private final long intervalNanos;
    private final long retentionNanos;
    private final EpochNanoClock clock;
    private final StateFiles files;

    // Guarded by this.
    private final List<Point> points = new ArrayList<>();
    private final List<PendingBookmark> pending = new ArrayList<>();
    private long appliedSeq;
    private long lastAutoNanos;
    private long nextId;
    private boolean persistFailing;

    private volatile List<Point> snapshot = List.of();

    private RecoveryPoints(String group, Path file, Policy policy, EpochNanoClock clock, long appliedSeq,
            StateFiles files) {
        this.group = group;
        this.files = files;
        this.file = file;
        this.intervalNanos = policy.pointInterval().toNanos();
        this.retentionNanos = policy.retention().toNanos();
        this.clock = clock;
        this.appliedSeq = appliedSeq;
    }

    /**
     * Loads the points of {@code group} from {@code groupDir} (none on first use).
     *
     * @throws IOException if the points file exists but cannot be read or parsed
     */
    public static RecoveryPoints open(Path groupDir, String group, Policy policy, EpochNanoClock clock,
            long appliedSeq) throws IOException {
        return open(groupDir, group, policy, clock, appliedSeq, StateFiles.DURABLE);
    }

    /** As {@link #open(Path, String, Policy, EpochNanoClock, long)}, persisting through {@code files}. */
    public static RecoveryPoints open(Path groupDir, String group, Policy policy, EpochNanoClock clock,
            long appliedSeq, StateFiles files) throws IOException {
        RecoveryPoints rp = new RecoveryPoints(group, groupDir.resolve(FILE_NAME), policy, clock, appliedSeq, files);
        rp.load();
        return rp;
    }

    /** {@code points.json} as written (Jackson databind); boxed so that a missing field is told apart. */
    private record StoredPoints(String group, long nextId, List<StoredPoint> points,
            @JsonInclude(JsonInclude.Include.NON_EMPTY) List<StoredBookmark> pendingBookmarks) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    private record StoredPoint(String id, Long seq, Long epochNanos, String kind, String label) {
    }

    private record StoredBookmark(Long seq, String label) {
    }

    private synchronized void load() throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        StoredPoints stored;
        try {
            stored = JSON.readValue(file.toFile(), StoredPoints.class);
        } catch (IOException e) {
            throw new IOException("group " + group + ": recovery points file " + file + " is unreadable: "
                    + e.getMessage(), e);
        }
        if (stored == null) {
            throw new IOException("group " + group + ": recovery points file " + file + " is empty");
        }
        nextId = stored.nextId();
        for (StoredPoint p : stored.points() == null ? List.<StoredPoint>of() : stored.points()) {
            if (p == null || p.id() == null || p.seq() == null || p.epochNanos() == null || p.kind() == null) {
                throw new IOException("group " + group + ": recovery points file " + file
                        + " holds a point without id, seq, epochNanos or kind: " + p);
            }
            Point point = new Point(p.id(), p.seq(), p.epochNanos(), p.kind(), p.label());
            points.add(point);
            if (AUTO.equals(point.kind())) {
                lastAutoNanos = Math.max(lastAutoNanos, point.epochNanos());
            }
        }
        for (StoredBookmark b : stored.pendingBookmarks() == null ? List.<StoredBookmark>of()
                : stored.pendingBookmarks()) {
            if (b == null || b.seq() == null || b.label() == null) {
                throw new IOException("group " + group + ": recovery points file " + file
                        + " holds a pending bookmark without seq or label: " + b);
            }
            pending.add(new PendingBookmark(b.seq(), b.label()));
        }
        if (!pending.isEmpty()) {
            materialize(clock.epochNanos()); // bookmarks applied before the restart
        }
        snapshot = List.copyOf(points);
    }

    /** The retained point {@code id}, or null. Any thread. */
    public Point find(String id) {
        for (Point p : snapshot) {
            if (p.id().equals(id)) {
                return p;
            }
        }
        return null;
    }

    /** The seq of the oldest retained point, or -1 when there is none. Any thread. */
    public long oldestSeq() {
        List<Point> points = snapshot;
        return points.isEmpty() ? -1 : points.get(0).seq();
    }

    /**
     * Drops the points before {@code seq}: the undo log can no longer roll back to them (it was
     * cut to stay within its byte bound, or it started over). Returns how many were dropped.
     */
    public synchronized int pruneBefore(long seq) {
        int before = points.size();
        points.removeIf(p -> p.seq() < seq);
        int dropped = before - points.size();
        if (dropped > 0) {
            publish();
        }
        return dropped;
    }

    /** The retained points, oldest first. Any thread. */
    public List<Point> list() {
        return snapshot;
    }

    /**
     * A bookmark arrived for {@code seq}: it becomes a point now if {@code seq} is applied,
     * otherwise once it is. Persists the points (two syncs): the applier thread, never an event loop. A repeat of a bookmark already kept (a resend after reconnect) is ignored.
     */
    public synchronized void bookmark(long seq, String label) {
        for (Point p : points) {
            if (p.seq() == seq && BOOKMARK.equals(p.kind()) && label.equals(p.label())) {
                return;
            }
        }
        PendingBookmark bookmark = new PendingBookmark(seq, label);
        if (pending.contains(bookmark)) {
            return;
        }
        pending.add(bookmark);
        if (seq <= appliedSeq) {
            materialize(clock.epochNanos());
        }
        // Persisted even while pending: the agent forgets a bookmark once its seq is acknowledged,
        // which may be before the seq is applied here and before a crash.
        publish();
    }

    /** The replicas are applied (and synced) up to {@code seq}, a delta boundary. Applier thread. */
    /**
     * The replicas became a consistent copy at {@code seq} (a sync ended): an automatic point
     * there now, whatever the interval; the next comes an interval later.
     */
    public synchronized void consistentAt(long seq) {
        appliedSeq = Math.max(appliedSeq, seq);
        long now = clock.epochNanos();
        materialize(now);
        add(new Point(newId(), seq, now, AUTO, null));
        lastAutoNanos = now;
        publish();
    }

    public synchronized void onApplied(long seq) {
        appliedSeq = seq;
        long now = clock.epochNanos();
        boolean changed = materialize(now);
        if (lastAutoNanos == 0 || now - lastAutoNanos >= intervalNanos) {
            add(new Point(newId(), seq, now, AUTO, null));
            lastAutoNanos = now;
            changed = true;
        }
        if (changed) {
            publish();
        }
    }

    private boolean materialize(long now) {
        boolean changed = false;
        for (int i = 0; i < pending.size(); ) {
            PendingBookmark b = pending.get(i);
            if (b.seq() <= appliedSeq) {
                pending.remove(i);
                add(new Point(newId(), b.seq(), now, BOOKMARK, b.label()));
                LOG.info("group {}: bookmark \"{}\" recorded as a recovery point at seq {}", group, b.label(), b.seq());
                changed = true;
            } else {
                i++;
            }
        }
        return changed;
    }

    private void add(Point point) {
        int at = points.size();
        while (at > 0 && points.get(at - 1).seq() > point.seq()) {
            at--;
        }
        points.add(at, point);
    }

    private String newId() {
        return "p" + (++nextId);
    }

    private void publish() {
        long cutoff = clock.epochNanos() - retentionNanos;
        Point latest = points.isEmpty() ? null : points.get(points.size() - 1);
        points.removeIf(p -> p != latest && p.epochNanos() < cutoff);
        snapshot = List.copyOf(points);
        try {
            files.writeAtomically(file, encode());
            if (persistFailing) {
                LOG.info("group {}: recovery points are persisted again in {}", group, file);
                persistFailing = false;
            }
        } catch (IOException e) {
            if (!persistFailing) {
                LOG.error("group {}: cannot persist recovery points to {} (kept in memory; retrying on the next"
                        + " point): {}", group, file, e.toString());
                persistFailing = true;
            }
        }
    }

    private byte[] encode() throws IOException {
        List<StoredPoint> stored = new ArrayList<>(points.size());
        for (Point p : points) {
            stored.add(new StoredPoint(p.id(), p.seq(), p.epochNanos(), p.kind(), p.label()));
        }
        List<StoredBookmark> waiting = new ArrayList<>(pending.size());
        for (PendingBookmark b : pending) {
            waiting.add(new StoredBookmark(b.seq(), b.label()));
        }
        return JSON.writeValueAsBytes(new StoredPoints(group, nextId, stored, waiting));
    }
}
