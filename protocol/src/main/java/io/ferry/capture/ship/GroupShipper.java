package io.ferry.capture.ship;

import io.ferry.capture.journal.Journal;
import io.ferry.capture.journal.JournalEntry;
import io.ferry.capture.journal.JournalReader;
import io.ferry.capture.pipeline.AckGate;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.delta.DeltaEncoder;
import io.ferry.nbd.IoCompletion;
import io.ferry.nbd.NbdErrors;
import io.ferry.time.EpochNanoClock;
import io.ferry.capture.sync.GroupSync;
import io.ferry.capture.sync.VerifyRun;
import io.ferry.wire.BlockDiff;
import io.ferry.wire.BlockHashes;
import io.ferry.wire.Bookmark;
import io.ferry.wire.ControlMessage;
import io.ferry.wire.SyncMark;
import io.ferry.wire.GroupAck;
import io.ferry.wire.GroupHello;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ships one consistency group: tails its journal from the receiver's durable seq, coalesces
 * records into deltas (a delta closes when its oldest record has waited the coalescing window,
 * a fraction of the RPO, or when it reaches its size bound), keeps a bounded number of bytes in
 * flight, and releases journal records the receiver has acknowledged durable. Tracks the RPO lag:
 * the age of the oldest captured write the receiver has not acknowledged.
 *
 * <p>Owned by the shipper thread; the volatile fields are read by status and metrics.
 */
final class GroupShipper implements AckGate {
    private static final Logger LOG = LoggerFactory.getLogger(GroupShipper.class);

    /** Group states as agent status reports them. */
    static final String DISCONNECTED = "disconnected";
    static final String REPLICATING = "replicating";
    static final String BEHIND = "behind";
    static final String FENCED = "fenced";
    static final String REFUSED = "refused";
    static final String FAILED = "failed";
    static final String SYNCING = "syncing";

    private record InFlight(long firstSeq, long lastSeq, long firstCaptureNanos, int frameBytes) {
    }

    private record Waiter(long seq, IoCompletion done) {
    }

    /**
     * A bookmark at {@code seq}, or a sync's mark ({@code mark} set, {@code label} null: SYNC or
     * HASHES); {@code sent} once its frame went out on the current connection.
     */
    private static final class PendingBookmark {
        final long seq;
        final String label;
        final ControlMessage mark;
        /** The sync a mark belongs to (a sync given up at a fold leaves marks that retire without effect). */
        final GroupSync owner;
        boolean sent;

        PendingBookmark(long seq, String label) {
            this.seq = seq;
            this.label = label;
            this.mark = null;
            this.owner = null;
        }

        PendingBookmark(long seq, ControlMessage mark, GroupSync owner) {
            this.seq = seq;
            this.label = null;
            this.mark = mark;
            this.owner = owner;
        }

        boolean isEnd() {
            return mark instanceof SyncMark m && m.phase() == SyncMark.END;
        }
    }

    /** Bookmarks waiting to be sent or acknowledged; more are refused. */
    static final int MAX_PENDING_BOOKMARKS = 1024;

    private final String name;
    private final Journal journal;
    private final WritePipeline pipeline;
    private final List<VolumeInfo> volumes;
    private final Map<String, Integer> volumeIndex = new HashMap<>();
    private final long generationId;
    private final long rpoNanos;
    private final long windowNanos;
    private final long maxDeltaBytes;
    private final long maxInFlightBytes;
    private final EpochNanoClock clock;
    private final DeltaEncoder encoder = new DeltaEncoder();
    private final JournalEntry entry = new JournalEntry();
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private final ArrayDeque<PendingBookmark> bookmarks = new ArrayDeque<>();
    /** Bookmarks accepted and not yet acknowledged (queued here or still in the inbox). */
    private final AtomicInteger bookmarksReserved = new AtomicInteger();
    private final ConcurrentLinkedQueue<Waiter> syncWaiters = new ConcurrentLinkedQueue<>();

    private ShippedGroup.SyncSource syncSource;
    /** Folds of the journal handled (the reader closed, the release asked for); shipper thread. */
    private long handledFolds;
    private boolean releaseRequested;
    /** A sync to begin once the journal allows: its kind and, for an initial one, whether by checksum. */
    private boolean syncWanted;
    private int wantedKind;
    private boolean wantedChecksum;
    private boolean resumeRequested;
    /** The pipeline's answer to the return to journal mode: 0 none yet, 1 done, -1 refused. */
    private volatile int resumeResult;
    /** DIFFs still to come for the HASHES of a sync given up at a fold: ignored. */
    private int staleDiffs;
    /** The sync the receiver asked for, until it acknowledged its END mark; shipper thread. */
    private volatile GroupSync sync;
    private boolean endQueued;

    private JournalReader reader;
    private boolean pending;
    private volatile boolean active;
    private long connectionId;
    private long inFlightBytes;
    private long shippedSeq;

    private volatile long ackedSeq;
    private volatile long oldestUnackedCaptureNanos;
    private volatile String state = DISCONNECTED;
    private volatile String problem;
    private volatile boolean breach;
    private volatile long bytesIn;
    private volatile long bytesShipped;
    private volatile long deltasShipped;
    private volatile long worstLagNanos;

    GroupShipper(String name, Journal journal, WritePipeline pipeline, List<VolumeInfo> volumes, long generationId,
                 long rpoNanos, long maxDeltaBytes, long maxInFlightBytes, EpochNanoClock clock) {
        this.name = name;
        this.journal = journal;
        this.pipeline = pipeline;
        this.volumes = List.copyOf(volumes);
        for (int i = 0; i < volumes.size(); i++) {
            volumeIndex.put(volumes.get(i).name(), i);
        }
        this.generationId = generationId;
        this.history = io.ferry.generation.GenerationHistory.of(generationId);
        this.rpoNanos = rpoNanos;
        // Coalesce for a tenth of the RPO (at most a second), so shipping delay uses a small
        // part of the budget; rpo 0s ships every record at once.
        this.windowNanos = Math.min(rpoNanos / 10, 1_000_000_000L);
        this.maxDeltaBytes = maxDeltaBytes;
        this.maxInFlightBytes = maxInFlightBytes;
        this.clock = clock;
        this.ackedSeq = journal.firstSeq() - 1;
        encoder.begin(name, generationId);
        pipeline.releasableSeq(() -> ackedSeq);
    }

    String name() {
        return name;
    }

    GroupHello hello() {
        return new GroupHello(name, generationId, volumes, history, pipeline.capturedSeq());
    }

    /** What a sync of the group reads (null: the group cannot sync). Set once, before shipping starts. */
    void syncSource(ShippedGroup.SyncSource source) {
        this.syncSource = source;
    }

    boolean synchronous() {
        return rpoNanos == 0;
    }

    /** Connection {@code id} is ready and the receiver said where it stands for this group. */
    void onHelloAck(long id, GroupAck ack) {
        reset();
        connectionId = id;
        relation = history.relate(pipeline.capturedSeq(), ack.history(), ack.durableSeq());
        if (ack.status() == GroupAck.STATUS_PROMOTED) {
            fail(FENCED, "group " + name + " was promoted at the DR site at seq " + ack.durableSeq()
                    + "; this agent no longer replicates it and refuses writes to it");
            fenceAt = ack.durableSeq();
            requestFence();
            return;
        }
        if (!ack.ok()) {
            fail(REFUSED, "receiver refused group " + name + " (status " + ack.status() + ")");
            return;
        }
        long durable = ack.durableSeq();
        long captured = pipeline.capturedSeq();
        if (durable > captured && !pipeline.crashRecovery()) {
            fail(FAILED, "receiver holds group " + name + " up to seq " + durable + " but this agent captured only "
                    + captured + "; the two sides diverged and need an operator's resync");
            return;
        }
        // Seqs the journal no longer holds because they were folded into the dirty map travel as
        // a gap, followed by a resync of the map; any other hole is a loss.
        boolean gap = durable + 1 < journal.firstSeq();
        if (gap && pipeline.foldedSeq() < journal.firstSeq() - 1) {
            fail(FAILED, "receiver needs group " + name + " from seq " + (durable + 1) + " but the journal starts at "
                    + journal.firstSeq() + "; a full resync is needed");
            return;
        }
        onAckedUpTo(durable);
        shippedSeq = durable;
        active = true;
        problem = null;
        state = REPLICATING;
        io.ferry.capture.bitmap.DirtyMap dirty = dirtyMap();
        boolean dirtyPending = pipeline.bitmapMode() || gap || (dirty != null && !dirty.isEmpty());
        if (ack.needsSync()) {
            if (syncSource == null) {
                fail(FAILED, "receiver asks for a sync of group " + name + ", which this agent cannot read its volumes for");
                return;
            }
            want(SyncMark.INITIAL, ack.status() == GroupAck.STATUS_SYNC_ALL); // a replica with data: by checksum
        } else if (dirtyPending) {
            if (syncSource == null || dirty == null) {
                fail(FAILED, "group " + name + " has dirty regions to resync but this agent cannot read its volumes");
                return;
            }
            // after a host crash the activity log's extents are mostly the same on both sides
            want(SyncMark.RESYNC, pipeline.crashRecovery());
        }
        if (!syncWanted) {
            reader = journal.reader(durable + 1);
        }
        LOG.info("group {}: resuming from seq {} (captured {}{})", name, durable + 1, captured,
                syncWanted ? ", " + SyncMark.kindName(wantedKind) + " first" : "");
    }

    /** The seq the receiver said the group was promoted at, until the pipeline is fenced there (-1: none). */
    private long fenceAt = -1;
    /** The agent's generations (one so far: failback starts the next). */
    private final io.ferry.generation.GenerationHistory history;
    /** How this group stood to the receiver's copy at the last HELLO_ACK; null before one. */
    private volatile io.ferry.generation.GenerationHistory.Relation relation;

    /** How this group stood to the receiver's copy at the last HELLO_ACK; null before one. Any thread. */
    io.ferry.generation.GenerationHistory.Relation relation() {
        return relation;
    }

    /** Queues the pipeline's fence once the receiver said the group was promoted; true if queued. */
    private boolean requestFence() {
        if (fenceAt < 0 || pipeline.fenced()) {
            return false;
        }
        long seq = fenceAt;
        if (pipeline.fence(seq, ok -> { })) {
            fenceAt = -1;
            return true;
        }
        return false;
    }

    private void want(int kind, boolean checksum) {
        syncWanted = true;
        wantedKind = kind;
        wantedChecksum = checksum;
    }

    private io.ferry.capture.bitmap.DirtyMap dirtyMap() {
        return syncSource == null ? null : syncSource.dirty();
    }

    /**
     * Shipper thread: the pipeline folded its journal into the dirty map. The reader is closed
     * (the journal is about to be released), what was not shipped yet is dropped (the map stands
     * for it), a running sync is given up, and a resync is wanted. Then the release is asked for.
     */
    private boolean handleFold() {
        long folds = pipeline.folds();
        if (folds == handledFolds) {
            if (releaseRequested || pipeline.foldReleased()) {
                return false;
            }
            releaseRequested = pipeline.releaseFolded();
            return true;
        }
        handledFolds = folds;
        if (reader != null) {
            reader.close();
            reader = null;
        }
        pending = false;
        encoder.begin(name, generationId);
        GroupSync running = sync;
        int kind = running != null && running.kind() == SyncMark.INITIAL ? SyncMark.INITIAL
                : syncWanted ? wantedKind : SyncMark.RESYNC;
        boolean checksum = running != null && running.kind() == SyncMark.INITIAL ? running.checksum() : wantedChecksum;
        abortSync("the journal reached journal.maxBytes and was folded into the dirty map");
        dropFoldedBookmarks(pipeline.foldedSeq());
        releaseRequested = pipeline.releaseFolded();
        resumeRequested = false;
        resumeResult = 0;
        if (active) {
            want(kind, checksum);
        }
        return true;
    }

    /** Gives up the running sync: its unsent marks are dropped, DIFFs still due for its HASHES ignored. */
    private void abortSync(String why) {
        GroupSync s = sync;
        if (s == null) {
            return;
        }
        if (s.kind() == SyncMark.VERIFY) {
            lastVerify = verifyRun(s, "failed", why + "; run the verify again");
        }
        int unsentHashes = 0;
        for (PendingBookmark b : bookmarks) {
            if (b.owner == s && !b.sent && b.mark instanceof BlockHashes) {
                unsentHashes++;
            }
        }
        staleDiffs += Math.max(0, s.unansweredHashes() - unsentHashes);
        bookmarks.removeIf(b -> b.owner == s && !b.sent);
        sync = null;
        endQueued = false;
        LOG.warn("group {}: the {} stops: {}", name, SyncMark.kindName(s.kind()), why);
    }

    /** Bookmarks at seqs the fold took into the dirty map cannot be points: dropped, logged. */
    private void dropFoldedBookmarks(long foldedSeq) {
        bookmarks.removeIf(b -> {
            if (b.mark == null && !b.sent && b.seq > shippedSeq && b.seq <= foldedSeq) {
                LOG.warn("group {}: bookmark \"{}\" at seq {} is dropped: its seq was folded into the dirty map, so"
                        + " the receiver will never hold the volumes as they were at it", name, b.label, b.seq);
                bookmarksReserved.decrementAndGet();
                return true;
            }
            return false;
        });
    }

    /**
     * Shipper thread: begins the wanted sync once the journal is released and journaling again:
     * BEGIN after the last seq on the wire (for a resync the receiver's last consistent point),
     * the gap of folded seqs, then the sync's reads in order with the new writes.
     */
    private boolean beginWantedSync(Link link, ByteBufAllocator alloc, long nowNanos) {
        if (!pipeline.foldReleased() || (releaseRequested && pipeline.folds() != handledFolds)) {
            return false;
        }
        if (pipeline.bitmapMode()) {
            if (resumeResult == -1) {
                resumeRequested = false;
                resumeResult = 0;
            }
            if (!resumeRequested) {
                resumeRequested = pipeline.resumeJournal(shippedSeq, ok -> resumeResult = ok ? 1 : -1);
            }
            return false;
        }
        io.ferry.capture.bitmap.DirtyMap dirty = dirtyMap();
        GroupSync next;
        if (wantedKind == SyncMark.INITIAL) {
            // the journal rebuilds volumes created empty only if nothing was ever folded out of it
            boolean nothingToRead = !wantedChecksum && syncSource.journalCoversVolumes() && pipeline.foldedSeq() == 0;
            if (nothingToRead) {
                LOG.info("group {}: the journal holds every write since the volumes were created empty, so the sync"
                        + " reads nothing", name);
            }
            next = GroupSync.whole(name, SyncMark.INITIAL, wantedChecksum, pipeline,
                    nothingToRead ? List.of() : syncSource.files(), dirty, syncSource.maxRateBytes(),
                    syncSource.windowBytes(), clock.epochNanos());
        } else {
            next = GroupSync.resync(name, wantedChecksum, pipeline, syncSource.files(), dirty,
                    syncSource.maxRateBytes(), syncSource.windowBytes(), clock.epochNanos());
        }
        SyncMark begin = next.beginMark(shippedSeq);
        queueMark(shippedSeq, begin, next);
        sendBookmarks(link, alloc, shippedSeq);
        long gapEnd = journal.firstSeq() - 1;
        if (shippedSeq < gapEnd) {
            shipGap(link, alloc, shippedSeq + 1, gapEnd);
        }
        reader = journal.reader(shippedSeq + 1);
        pending = false;
        sync = next;
        endQueued = false;
        syncWanted = false;
        resumeRequested = false;
        resumeResult = 0;
        return true;
    }

    /** Ships seqs {@code first..last}, folded into the dirty map, as a delta without extents. */
    private void shipGap(Link link, ByteBufAllocator alloc, long first, long last) {
        long since = pipeline.dirtySinceNanos();
        encoder.begin(name, generationId);
        encoder.coverSeqs(first, last, since != 0 ? since : clock.epochNanos());
        LOG.info("group {}: seqs {}..{} were folded into the dirty map; they travel as a gap and the resync that"
                + " follows brings what they wrote", name, first, last);
        ship(link, alloc);
    }

    /**
     * Queues a sync's mark in seq order among the bookmarks (a bookmark asked for meanwhile may
     * carry a higher seq), so every mark goes out right after the delta holding its seq: the
     * receiver hashes a region at exactly its seq and must get its HASHES before any later delta.
     */
    private void queueMark(long seq, ControlMessage mark, GroupSync owner) {
        ArrayDeque<PendingBookmark> later = new ArrayDeque<>();
        while (!bookmarks.isEmpty() && !bookmarks.peekLast().sent && bookmarks.peekLast().seq > seq) {
            later.addFirst(bookmarks.pollLast());
        }
        bookmarks.addLast(new PendingBookmark(seq, mark, owner));
        bookmarks.addAll(later);
    }

    /** Why a verify cannot start now. */
    enum VerifyRefusal { SYNC_RUNNING, NOT_CONNECTED, FENCED, CANNOT_READ }

    private volatile VerifyRun lastVerify;

    /**
     * Starts a verify of the group's volumes against the replica (see {@link GroupSync#verify});
     * null when it started, else why not. Shipper thread.
     */
    VerifyRefusal startVerify(boolean repair) {
        if (FENCED.equals(state)) {
            return VerifyRefusal.FENCED;
        }
        if (!active) {
            return VerifyRefusal.NOT_CONNECTED;
        }
        if (sync != null) {
            return VerifyRefusal.SYNC_RUNNING;
        }
        if (syncSource == null) {
            return VerifyRefusal.CANNOT_READ;
        }
        List<String> names = new java.util.ArrayList<>();
        for (VolumeInfo v : volumes) {
            names.add(v.name());
        }
        GroupSync verify = GroupSync.verify(name, repair, names, pipeline, syncSource.files(),
                syncSource.maxRateBytes(), clock.epochNanos());
        sync = verify;
        endQueued = false;
        lastVerify = verifyRun(verify, "running", null);
        return null;
    }

    /** The verify running or last run, or null. Any thread. */
    VerifyRun verifyRun() {
        GroupSync s = sync;
        VerifyRun last = lastVerify;
        if (s != null && s.kind() == SyncMark.VERIFY && last != null && "running".equals(last.state())) {
            return verifyRun(s, "running", null);
        }
        return last;
    }

    private VerifyRun verifyRun(GroupSync s, String runState, String why) {
        return VerifyRun.of(name, s, runState, why);
    }

    /** Shipper thread: a verify whose reads are all answered ends once its repairs are durable at the receiver. */
    private boolean pumpVerify(GroupSync s) {
        if (s.allRead() && ackedSeq >= s.lastSeq()) {
            VerifyRun done = verifyRun(s, "done", null);
            lastVerify = done;
            sync = null;
            LOG.info("group {}: verify done at seq {}: {} bytes compared, {} bytes different in {} range(s){}", name,
                    done.seq(), done.totalBytes(), done.mismatchedBytes(), done.mismatches().size(),
                    done.repair() ? ", " + done.repairedBytes() + " bytes repaired" : "");
            return true;
        }
        return false;
    }

    private void queueMarks(List<ControlMessage> marks) {
        GroupSync owner = sync;
        for (ControlMessage mark : marks) {
            queueMark(mark instanceof BlockHashes h ? h.seq() : ((SyncMark) mark).seq(), mark, owner);
        }
    }

    /** The receiver's answer to one of the sync's HASHES. Shipper thread. */
    void onDiff(long id, BlockDiff diff) {
        GroupSync s = sync;
        if (id != connectionId || !active) {
            return;
        }
        if (staleDiffs > 0) {
            staleDiffs--; // answers a sync given up at a fold
            return;
        }
        if (s == null) {
            return;
        }
        try {
            s.onDiff(diff);
        } catch (IllegalArgumentException e) {
            fail(FAILED, "group " + name + ": the sync stopped: " + e.getMessage());
            sync = null;
        }
    }

    /** Shipper thread: reads the sync's next region and queues its marks. */
    private boolean pumpSync(long nowNanos) {
        GroupSync s = sync;
        if (s == null || endQueued) {
            return false;
        }
        if (s.refused() != null) {
            if (s.kind() == SyncMark.VERIFY) {
                lastVerify = verifyRun(s, "failed", s.refused());
            }
            fail(FAILED, "group " + name + ": the sync stopped: " + s.refused());
            return true;
        }
        List<ControlMessage> marks = s.pump(nowNanos, ackedSeq);
        queueMarks(marks);
        if (s.kind() == SyncMark.VERIFY) {
            return pumpVerify(s) || !marks.isEmpty();
        }
        if (s.allRead()) {
            SyncMark end = s.endMark();
            queueMark(end.seq(), end, s);
            endQueued = true;
            return true;
        }
        return !marks.isEmpty();
    }

    /** The sync under way as status shows it, or null. Any thread. */
    io.ferry.api.SyncStatus syncStatus(long nowNanos) {
        GroupSync s = sync;
        return s == null ? null : s.status(nowNanos);
    }

    void onAck(long id, long durableSeq) {
        if (id != connectionId || !active) {
            return;
        }
        while (!inFlight.isEmpty() && inFlight.peekFirst().lastSeq() <= durableSeq) {
            InFlight done = inFlight.pollFirst();
            inFlightBytes -= done.frameBytes();
        }
        GroupSync s = sync;
        if (s != null) {
            s.onAcked(durableSeq);
        }
        onAckedUpTo(durableSeq);
        retireMarks();
    }

    void onDisconnected(long id) {
        if (id == connectionId && (active || state.equals(REPLICATING) || state.equals(BEHIND) || state.equals(SYNCING))) {
            reset();
            state = DISCONNECTED;
        }
        releaseSyncWaiters();
    }

    private void onAckedUpTo(long durableSeq) {
        if (durableSeq > ackedSeq) {
            ackedSeq = durableSeq;
            releaseAcked();
        }
        releaseSyncWaiters();
    }

    /** The highest seq whose release the pipeline has queued. */
    private long releaseQueued;

    /**
     * Asks the pipeline to release what the receiver holds durable (never while the folded
     * journal is being dropped); asked again on the next pump when the ring was full.
     */
    private boolean releaseAcked() {
        long acked = ackedSeq;
        if (acked <= releaseQueued || (releaseRequested && !pipeline.foldReleased())) {
            return false;
        }
        if (pipeline.releaseJournal(acked)) {
            releaseQueued = acked;
            return true;
        }
        return false;
    }

    private void reset() {
        active = false;
        inFlight.clear();
        inFlightBytes = 0;
        pending = false;
        // A sync ends with the connection: the receiver asks for one again on the next if it needs it.
        bookmarks.removeIf(b -> b.mark != null);
        GroupSync s = sync;
        if (s != null && s.kind() == SyncMark.VERIFY) {
            lastVerify = verifyRun(s, "failed", "the connection to the receiver dropped; run the verify again");
        }
        sync = null;
        endQueued = false;
        syncWanted = false;
        staleDiffs = 0;
        for (PendingBookmark b : bookmarks) {
            b.sent = false; // the receiver drops repeats of a bookmark it already kept
        }
        encoder.begin(name, generationId);
        if (reader != null) {
            reader.close();
            reader = null;
        }
    }

    private void fail(String newState, String why) {
        active = false;
        state = newState;
        if (!why.equals(problem)) {
            LOG.error("{}", why);
        }
        problem = why;
        releaseSyncWaiters();
    }

    /**
     * Reads what the journal has, closes and sends deltas that are due, within the in-flight
     * bound. Returns true if it did any work.
     */
    boolean pump(Link link, ByteBufAllocator alloc, long nowNanos) {
        boolean worked = requestFence();
        worked |= releaseAcked();
        worked |= handleFold();
        if (active) {
            if (syncWanted && sync == null) {
                worked |= beginWantedSync(link, alloc, nowNanos);
            }
            worked |= pumpSync(nowNanos);
            while (reader != null && inFlightBytes < maxInFlightBytes) {
                if (!pending) {
                    if (!reader.next(entry)) {
                        break;
                    }
                    pending = true;
                    worked = true;
                }
                if (!encoder.isEmpty() && encoder.inputBytes() + entry.length() > maxDeltaBytes && entry.type() == Journal.WRITE) {
                    ship(link, alloc);
                    continue;
                }
                GroupSync s = sync;
                if (s != null && s.hasDone()) {
                    // a sync read that came before this record: its marks go out before it
                    queueMarks(s.takeDone(nowNanos, ackedSeq));
                }
                PendingBookmark next = nextUnsentBookmark();
                if (next != null && entry.seq() > next.seq) {
                    // the bookmark's seq closes a delta: ship what is before it, then the marker
                    if (!encoder.isEmpty()) {
                        ship(link, alloc);
                    }
                    sendBookmarks(link, alloc, entry.seq() - 1);
                    continue;
                }
                Integer index = volumeIndex.get(entry.volume());
                if (index == null) {
                    fail(FAILED, "journal of group " + name + " holds seq " + entry.seq() + " for unknown volume " + entry.volume());
                    return true;
                }
                encoder.add(index, entry.type(), entry.offset(), entry.length(), entry.seq(), entry.captureNanos(),
                        entry.type() == Journal.WRITE ? entry.data() : null);
                bytesIn += entry.type() == Journal.WRITE ? entry.length() : 0;
                pending = false;
            }
            PendingBookmark next = nextUnsentBookmark();
            boolean bookmarkInside = next != null && !encoder.isEmpty() && next.seq <= encoder.lastSeq();
            if (!encoder.isEmpty() && inFlightBytes < maxInFlightBytes
                    && (bookmarkInside || nowNanos - encoder.firstCaptureNanos() >= windowNanos
                    || encoder.inputBytes() >= maxDeltaBytes || sync != null)) {
                // while a sync runs its reads wait for the ACKs of what they journaled (its window),
                // so nothing waits for the coalescing window: that would bound the sync to a window a second
                ship(link, alloc);
                worked = true;
            }
            worked |= sendBookmarks(link, alloc, shippedSeq);
            retireMarks();
        }
        updateLag(nowNanos);
        return worked;
    }

    /**
     * Reserves room for one more bookmark; any thread. Returns false when
     * {@link #MAX_PENDING_BOOKMARKS} are already waiting to be acknowledged, so the caller can
     * refuse the request instead of a bookmark being dropped later.
     */
    boolean reserveBookmark() {
        if (bookmarksReserved.incrementAndGet() > MAX_PENDING_BOOKMARKS) {
            bookmarksReserved.decrementAndGet();
            return false;
        }
        return true;
    }

    /**
     * Queues a bookmark at {@code seq} (the captured seq when it was asked for), whose room
     * {@link #reserveBookmark} reserved; it is sent in order with the deltas, right after the one
     * holding {@code seq}. Shipper thread.
     */
    void bookmark(long seq, String label) {
        bookmarks.addLast(new PendingBookmark(seq, label));
    }

    private PendingBookmark nextUnsentBookmark() {
        for (PendingBookmark b : bookmarks) {
            if (!b.sent) {
                return b;
            }
        }
        return null;
    }

    /**
     * Drops the marks that went out on this connection after deltas the receiver holds durable
     * (a mark sent after the last ACK is retired here, on the next pump: no ACK may follow it).
     * A receiver that lost a sync mark with the connection asks for the sync again.
     */
    private void retireMarks() {
        GroupSync s = sync;
        while (!bookmarks.isEmpty() && bookmarks.peekFirst().sent && bookmarks.peekFirst().seq <= ackedSeq) {
            PendingBookmark done = bookmarks.pollFirst();
            if (done.mark == null) {
                bookmarksReserved.decrementAndGet();
            } else if (done.isEnd() && s != null && done.owner == s) {
                s.onAcked(Long.MAX_VALUE);
                s.onEndAcked();
                s.logComplete(clock.epochNanos());
                sync = null;
                io.ferry.capture.bitmap.DirtyMap dirty = dirtyMap();
                if (dirty == null || dirty.isEmpty()) {
                    pipeline.dirtyResynced();
                } else if (s.kind() != SyncMark.VERIFY) {
                    LOG.warn("group {}: {} bytes are still marked dirty after the {}; another resync follows", name,
                            dirty.dirtyBytes(), SyncMark.kindName(s.kind()));
                    want(SyncMark.RESYNC, false);
                }
            }
        }
    }

    /** Sends every unsent bookmark up to {@code shippedUpTo} (everything up to it is shipped); true if it sent any. */
    private boolean sendBookmarks(Link link, ByteBufAllocator alloc, long shippedUpTo) {
        boolean sent = false;
        for (PendingBookmark b : bookmarks) {
            if (b.sent) {
                continue;
            }
            if (b.seq > shippedUpTo) {
                break;
            }
            b.sent = true;
            sent = true;
            if (b.mark != null) {
                link.send(connectionId, b.mark.encode(alloc));
                continue;
            }
            link.send(connectionId, new Bookmark(name, b.seq, b.label).encode(alloc));
            LOG.info("group {}: bookmark \"{}\" at seq {} sent", name, b.label, b.seq);
        }
        return sent;
    }

    private void ship(Link link, ByteBufAllocator alloc) {
        ByteBuf frame = encoder.encode(alloc);
        int frameBytes = frame.readableBytes();
        inFlight.addLast(new InFlight(encoder.firstSeq(), encoder.lastSeq(), encoder.firstCaptureNanos(), frameBytes));
        inFlightBytes += frameBytes;
        shippedSeq = encoder.lastSeq();
        bytesShipped += frameBytes;
        deltasShipped++;
        link.send(connectionId, frame);
        encoder.begin(name, generationId);
    }

    /** Lag = age of the oldest write not acknowledged durable; logs the start and end of an RPO breach. */
    private void updateLag(long nowNanos) {
        long oldest;
        if (!inFlight.isEmpty()) {
            oldest = inFlight.peekFirst().firstCaptureNanos();
        } else if (!encoder.isEmpty()) {
            oldest = encoder.firstCaptureNanos();
        } else if (pending) {
            oldest = entry.captureNanos();
        } else if (pipeline.capturedSeq() > ackedSeq && journalReadable()) {
            oldest = peekCaptureNanos(ackedSeq + 1, nowNanos);
        } else {
            oldest = 0;
        }
        long dirtySince = dirtySinceNanos();
        if (dirtySince != 0) {
            oldest = oldest == 0 ? dirtySince : Math.min(oldest, dirtySince);
        }
        oldestUnackedCaptureNanos = oldest;
        long lag = oldest == 0 ? 0 : Math.max(0, nowNanos - oldest);
        if (lag > worstLagNanos) {
            worstLagNanos = lag;
        }
        boolean over = rpoNanos > 0 ? lag > rpoNanos : lag > 1_000_000_000L;
        if (over != breach) {
            breach = over;
            if (over) {
                LOG.warn("group {}: RPO breach: oldest unreplicated write is {} ms old (rpo {} ms, state {})",
                        name, lag / 1_000_000, rpoNanos / 1_000_000, state);
            } else {
                LOG.info("group {}: RPO breach over: lag back to {} ms (rpo {} ms)", name, lag / 1_000_000, rpoNanos / 1_000_000);
            }
        }
        if (active) {
            GroupSync s = sync;
            state = (s != null && s.kind() != SyncMark.VERIFY) || syncWanted ? SYNCING : over ? BEHIND : REPLICATING;
        }
    }

    /** Whether a reader may be opened: no fold is waiting for its journal to be released. */
    private boolean journalReadable() {
        return pipeline.folds() == handledFolds && !pipeline.bitmapMode() && pipeline.foldReleased();
    }

    /** Capture time of the oldest write the dirty map stands for while it stands for any, else 0. */
    private long dirtySinceNanos() {
        io.ferry.capture.bitmap.DirtyMap dirty = dirtyMap();
        boolean pendingDirty = pipeline.bitmapMode() || (dirty != null && !dirty.isEmpty());
        return pendingDirty ? pipeline.dirtySinceNanos() : 0;
    }

    /** Capture time of {@code seq} when it is not in memory (link down): read it from the journal. */
    private long peekCaptureNanos(long seq, long nowNanos) {
        if (reader == null && seq >= journal.firstSeq()) {
            reader = journal.reader(seq);
        }
        if (reader != null && !pending && reader.next(entry)) {
            pending = true;
            return entry.captureNanos();
        }
        return pending ? entry.captureNanos() : nowNanos;
    }

    // --- synchronous replication -------------------------------------------------------------

    @Override
    public void completeWhenAcked(long seq, IoCompletion done) {
        if (!active || seq <= ackedSeq) {
            // Not connected: answer now rather than stall the volume; status shows the group
            // disconnected and the lag grows, as for an asynchronous group.
            done.complete(NbdErrors.OK);
            return;
        }
        syncWaiters.add(new Waiter(seq, done));
        if (!active || seq <= ackedSeq) {
            releaseSyncWaiters();
        }
    }

    private void releaseSyncWaiters() {
        long acked = ackedSeq;
        boolean all = !active;
        Waiter waiter;
        while ((waiter = syncWaiters.peek()) != null && (all || waiter.seq() <= acked)) {
            if (syncWaiters.remove(waiter)) {
                waiter.done().complete(NbdErrors.OK);
            }
        }
    }

    // --- status --------------------------------------------------------------------------------

    long ackedSeq() {
        return ackedSeq;
    }

    long capturedSeq() {
        return pipeline.capturedSeq();
    }

    long rpoNanos() {
        return rpoNanos;
    }

    /** Current lag in nanoseconds (0 when everything captured is durable at the receiver). */
    long lagNanos(long nowNanos) {
        long oldest = oldestUnackedCaptureNanos;
        if (oldest == 0 || (pipeline.capturedSeq() <= ackedSeq && dirtySinceNanos() == 0)) {
            return 0;
        }
        return Math.max(0, nowNanos - oldest);
    }

    long worstLagNanos() {
        return worstLagNanos;
    }

    String state() {
        String failure = pipeline.failure();
        return failure != null ? FAILED : state;
    }

    String problem() {
        String failure = pipeline.failure();
        return failure != null ? failure : problem;
    }

    boolean breach() {
        return breach;
    }

    long bytesIn() {
        return bytesIn;
    }

    long bytesShipped() {
        return bytesShipped;
    }

    long deltasShipped() {
        return deltasShipped;
    }

    long journalBytes() {
        return journal.bytesOnDisk();
    }

    /** "journal" or "bitmap", as status shows it. */
    String mode() {
        return pipeline.bitmapMode() ? "bitmap" : "journal";
    }

    /** Bytes the dirty map marks (0 without one). */
    long dirtyBytes() {
        io.ferry.capture.bitmap.DirtyMap dirty = dirtyMap();
        return dirty == null ? 0 : dirty.dirtyBytes();
    }

    /**
     * Shipping this group threw (a journal that cannot be read, a bug): it stops for good, status
     * shows it failed for {@code why}, and writes waiting for the receiver's ACK (rpo 0s) are
     * answered, as on a disconnection. Shipper thread.
     */
    void onShippingFailed(String why) {
        try {
            reset();
        } finally {
            fail(FAILED, why);
        }
    }

    void close() {
        reset();
        active = false;
        releaseSyncWaiters();
    }
}
