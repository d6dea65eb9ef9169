package io.ferry.capture.pipeline;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.ExceptionHandler;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.Sequence;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import io.ferry.capture.journal.Journal;
import io.ferry.metrics.LatencyRecorder;
import io.ferry.volume.VolumeFile;
import io.ferry.nbd.BlockDevice;
import io.ferry.nbd.IoCompletion;
import io.ferry.nbd.NbdErrors;
import io.ferry.time.EpochNanoClock;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write path of one consistency group: the group's sequencer. Requests from any number of
 * connections (Netty event loops, several volumes) are published into one Disruptor ring; its
 * single consumer, the pipeline thread, gives each write, zero-write and trim the group's next
 * sequence number, appends it to the journal, applies it to the backing file, and only then
 * answers it. So a write issued after another's reply always carries the higher seq, and the
 * journal holds the group's writes in an order every volume agrees with.
 *
 * <p>FLUSH and FUA are answered by the {@link GroupCommitter} (the group's sync thread) once the
 * journal and the touched backing files are synced; the pipeline thread hands it one batch per
 * Disruptor batch, so concurrent flushes share one sync.
 *
 * <p>A journal, backing-file or sync failure puts the group into a failed state: every later
 * write is refused with EIO rather than risk a journal and a volume that disagree (after a
 * failed fsync, nothing written before it can be trusted durable).
 *
 * <p>Back-pressure: an NBD connection submits through its own {@link Producer}, which claims
 * ring slots with {@code tryNext} and never waits: when the ring is full it holds the request,
 * suspends the connection's reading, and the pipeline thread hands it back to the connection's
 * event loop as soon as slots are free, so held requests are published in their order and none
 * is dropped. The {@code submit*} methods of the pipeline itself wait for a slot instead and are
 * for threads that may block (tests, tools).
 *
 * <p>Threads: {@code submit*} methods from any thread, a {@link Producer} from its connection's
 * event loop; everything else in here is owned by the pipeline thread.
 */
public final class WritePipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WritePipeline.class);

    private final String group;
    private final String[] volumeNames;
    private final VolumeFile[] files;
    private final Journal journal;
    private final EpochNanoClock clock;
    private final Disruptor<WriteEvent> disruptor;
    private final RingBuffer<WriteEvent> ring;
    private final GroupCommitter committer;

    private final java.util.concurrent.CountDownLatch sequencerStarted = new java.util.concurrent.CountDownLatch(1);
    private volatile AckGate ackGate;
    private volatile LatencyRecorder writeLatency = LatencyRecorder.NOOP;
    private volatile Runnable afterBatch = () -> { };
    private volatile boolean closed;
    /** Set on close: in-order work still in the ring is refused, not run. */
    private volatile boolean closedForWork;
    private volatile String failure;
    private volatile long capturedSeq;
    /** The journal bound and dirty map; null: the journal is never folded. Set before the first write. */
    private volatile Overflow overflow;
    /** The seq the group was fenced at (-1: not fenced); pipeline thread writes. */
    private volatile long fencedSeq = -1;
    private volatile FenceStore fenceStore;
    /** The group's activity log (null: none). Set before the first write; used on the pipeline thread. */
    private volatile io.ferry.capture.activity.ActivityLog activityLog;
    /**
     * Whether a host crash may have lost the journal's tail (set at start, cleared at the return to
     * journal mode): the receiver may hold seqs past {@link #foldedSeq()}, and seqs go on after the
     * receiver's.
     */
    private volatile boolean crashRecovery;
    /** Whether the group is in bitmap mode: writes mark the dirty map and are not journaled. Pipeline thread writes. */
    private volatile boolean bitmapMode;
    /** Folds so far; the journal released for how many of them. Pipeline thread writes. */
    private volatile long folds;
    private volatile long releasedFolds;
    /** Seq of the last fold: records up to it that the receiver lacks are in the dirty map. */
    private volatile long foldedSeq;
    /** Capture time of the oldest write the dirty map stands for (0: none). */
    private volatile long dirtySinceNanos;
    /** The seq the receiver holds durable (records up to it need no mark at a fold); set by the shipper. */
    private volatile java.util.function.LongSupplier releasableSeq;
    /** Producers holding requests until the ring has room; the pipeline thread wakes them. */
    private final ConcurrentLinkedQueue<Producer> waitingForRoom = new ConcurrentLinkedQueue<>();
    /** Requests that connections hold for want of ring room, over all producers. */
    private final AtomicInteger heldRequests = new AtomicInteger();

    private WritePipeline(String group, List<String> volumeNames, List<VolumeFile> files, Journal journal,
                          EpochNanoClock clock, int ringSize) {
        this.group = group;
        this.volumeNames = volumeNames.toArray(String[]::new);
        this.files = files.toArray(VolumeFile[]::new);
        this.journal = journal;
        this.clock = clock;
        this.capturedSeq = journal.lastSeq();
        this.committer = new GroupCommitter(group, journal, this.files, this::fail);
        this.disruptor = new Disruptor<>(WriteEvent::new, ringSize,
                r -> {
                    Thread t = new Thread(r, "ferry-pipeline-" + group);
                    t.setDaemon(true);
                    return t;
                },
                ProducerType.MULTI, new BlockingWaitStrategy());
        this.disruptor.handleEventsWith(new Sequencer());
        this.disruptor.setDefaultExceptionHandler(new LastResortHandler());
        this.ring = disruptor.getRingBuffer();
    }

    /**
     * Starts the pipeline of {@code group}. {@code volumeNames.get(i)} is backed by
     * {@code files.get(i)}; requests name volumes by that index. Sequencing resumes after the
     * journal's last seq.
     */
    public static WritePipeline start(String group, List<String> volumeNames, List<VolumeFile> files,
                                      Journal journal, EpochNanoClock clock, int ringSize) {
        if (volumeNames.size() != files.size()) {
            throw new IllegalArgumentException("volumes and files differ in number");
        }
        WritePipeline pipeline = new WritePipeline(group, volumeNames, files, journal, clock, ringSize);
        pipeline.committer.start();
        pipeline.disruptor.start();
        // Disruptor.shutdown() ignores a processor whose thread has not begun running, which
        // would drop requests accepted right after start; wait until the sequencer runs.
        try {
            if (!pipeline.sequencerStarted.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("pipeline thread of group " + group + " did not start");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted starting group " + group, e);
        }
        return pipeline;
    }

    public String group() {
        return group;
    }

    /**
     * Makes every later write wait for the receiver's ACK of its seq before it is answered
     * (synchronous replication); null turns that off.
     */
    public void ackGate(AckGate gate) {
        this.ackGate = gate;
    }

    /** Run on the pipeline thread after each batch that captured something (wakes the shipper). */
    public void afterBatch(Runnable hook) {
        this.afterBatch = hook;
    }

    /** Where the pipeline thread records each write's time and the sync thread each sync's (set once, at assembly). */
    public void metrics(LatencyRecorder writeLatency, LatencyRecorder syncLatency) {
        this.writeLatency = writeLatency;
        committer.syncLatency = syncLatency;
    }

    /**
     * Bounds the group's journal (see {@link Overflow}); call once, before the first write, while
     * the pipeline is idle. A group that was in bitmap mode resumes it, and a journal the last
     * fold did not get to release is released here.
     */
    public void overflow(Overflow bound) {
        bitmapMode = bound.bitmapAtStart();
        crashRecovery = bound.crashRecoveryAtStart();
        foldedSeq = bound.foldedSeq();
        dirtySinceNanos = bound.dirtySinceNanos();
        committer.dirtyMap = bound.dirty();
        if (bound.bitmapAtStart() && journal.firstSeq() <= bound.foldedSeq()) {
            journal.startOver(bound.foldedSeq());
            capturedSeq = journal.lastSeq();
        }
        this.overflow = bound;
    }

    /**
     * Puts every write's extents in {@code log} (synced) before the write reaches the journal or
     * a volume file; call once, before the first write, while the pipeline is idle.
     */
    public void activityLog(io.ferry.capture.activity.ActivityLog log) {
        log.syncAll(committer::syncNow);
        committer.activityLog = log;
        this.activityLog = log;
    }

    /** The activity log, or null when the group has none. */
    public io.ferry.capture.activity.ActivityLog activityLog() {
        return activityLog;
    }

    /** Persists that the group was fenced at a seq: the DR site promoted it there. */
    @FunctionalInterface
    public interface FenceStore {
        void persistFenced(long promotedSeq) throws IOException;
    }

    /**
     * Where a fence is persisted, and the seq the group was fenced at when the daemon stopped
     * ({@code -1}: not fenced). Call once, before the first write, while the pipeline is idle.
     */
    public void fencing(FenceStore store, long fencedAtStart) {
        this.fenceStore = store;
        this.fencedSeq = fencedAtStart;
    }

    /** Whether the group is fenced: the DR site promoted it, so every write is refused with EPERM. Any thread. */
    public boolean fenced() {
        return fencedSeq >= 0;
    }

    /** The seq the DR site promoted the group at, or -1 while it is not fenced. */
    public long fencedSeq() {
        return fencedSeq;
    }

    /**
     * Queues the fence: the DR site promoted the group at {@code promotedSeq}. Every journal
     * record after that seq (captured here while the DR site was cut off) is divergent: marked
     * in the dirty map, which from then on stands for the regions the agent wrote that the DR
     * copy lacks. The fence is persisted, then every later write is refused with EPERM (FLUSH
     * still succeeds). {@code onDone} runs on the pipeline thread. False when the ring is full.
     */
    public boolean fence(long promotedSeq, java.util.function.Consumer<Boolean> onDone) {
        return tryRunInOrder(new InOrder() {
            @Override
            public void run(Sequenced group) throws IOException {
                if (fencedSeq >= 0) {
                    onDone.accept(true);
                    return;
                }
                io.ferry.capture.bitmap.DirtyMap map = dirtyMap();
                long divergent = map == null ? 0 : io.ferry.capture.bitmap.JournalMarks.mark(journal,
                        promotedSeq + 1, java.util.List.of(volumeNames), map).records();
                if (map != null) {
                    map.force();
                }
                if (fenceStore != null) {
                    fenceStore.persistFenced(promotedSeq);
                }
                fencedSeq = promotedSeq;
                LOG.warn("group {}: fenced: the DR site promoted the group at seq {}; {} record(s) captured after it are"
                                + " divergent ({} bytes marked); every write is refused with EPERM from now on",
                        WritePipeline.this.group, promotedSeq, divergent, map == null ? 0 : map.dirtyBytes());
                onDone.accept(true);
            }

            @Override
            public void refused(String why) {
                onDone.accept(false);
            }

            @Override
            public String toString() {
                return "fence of group " + WritePipeline.this.group;
            }
        });
    }

    /** Where a fold starts marking: after the seq the receiver holds durable. Set by the shipper. */
    public void releasableSeq(java.util.function.LongSupplier durable) {
        this.releasableSeq = durable;
    }

    /** Whether writes only mark the dirty map (bitmap mode). Any thread. */
    public boolean bitmapMode() {
        return bitmapMode;
    }

    /**
     * Whether the group recovers from a host crash (see {@link io.ferry.capture.activity.CrashRecovery}):
     * the receiver may hold seqs the journal lost, and the dirty regions are resynced by checksum.
     */
    public boolean crashRecovery() {
        return crashRecovery;
    }

    /** Folds of the journal into the dirty map so far (since start). Any thread. */
    public long folds() {
        return folds;
    }

    /** Whether the journal of the last fold was released (no record up to {@link #foldedSeq()} is left). */
    public boolean foldReleased() {
        return releasedFolds == folds;
    }

    public long foldedSeq() {
        return foldedSeq;
    }

    /** Capture time of the oldest write the dirty map stands for, 0 when it stands for none. */
    public long dirtySinceNanos() {
        return dirtySinceNanos;
    }

    /** The dirty map, or null when the journal is unbounded. */
    public io.ferry.capture.bitmap.DirtyMap dirtyMap() {
        Overflow o = overflow;
        return o == null ? null : o.dirty();
    }

    /**
     * Queues the release of the journal's records up to {@code seq} (the receiver holds them
     * durable). Releases run on the pipeline thread, in order with the writes, so a fold or a
     * fence reading the unacknowledged records never finds them released under it. False when
     * the ring is full (the next acknowledgement asks again).
     */
    public boolean releaseJournal(long seq) {
        return tryRunInOrder(new InOrder() {
            @Override
            public void run(Sequenced group) {
                journal.release(seq);
            }

            @Override
            public String toString() {
                return "release of the journal of " + WritePipeline.this.group + " up to seq " + seq;
            }
        });
    }

    /**
     * Queues the release of the folded journal (every record is dropped; seqs go on after
     * {@link #foldedSeq()}): the shipper calls it once it has closed its journal reader, and opens
     * none until {@link #foldReleased()}. False when the ring is full (try again).
     */
    public boolean releaseFolded() {
        return tryRunInOrder(new InOrder() {
            @Override
            public void run(Sequenced group) {
                if (bitmapMode && releasedFolds != folds) {
                    journal.startOver(foldedSeq);
                    capturedSeq = journal.lastSeq();
                    releasedFolds = folds;
                    LOG.info("group {}: journal released after the fold at seq {}", WritePipeline.this.group, foldedSeq);
                }
            }

            @Override
            public String toString() {
                return "release of the folded journal of " + WritePipeline.this.group;
            }
        });
    }

    /**
     * Queues the return to journal mode (a resync of the dirty map is about to start): later
     * writes are journaled again, with seqs after the fold, and after {@code receiverSeq} when a
     * host crash may have lost seqs the receiver holds ({@link #crashRecovery()}). {@code onDone}
     * runs on the pipeline thread with true once it switched, false when it could not (the journal
     * is not released). False when the ring is full (try again).
     */
    public boolean resumeJournal(long receiverSeq, java.util.function.Consumer<Boolean> onDone) {
        return tryRunInOrder(new InOrder() {
            @Override
            public void run(Sequenced group) throws IOException {
                if (!bitmapMode) {
                    onDone.accept(true);
                    return;
                }
                if (releasedFolds != folds) {
                    onDone.accept(false);
                    return;
                }
                if (crashRecovery && receiverSeq > capturedSeq) {
                    journal.startOver(receiverSeq);
                    capturedSeq = journal.lastSeq();
                    foldedSeq = capturedSeq;
                    LOG.warn("group {}: the receiver holds seqs up to {} that the journal lost in the host crash;"
                            + " seqs go on after it, and the resync brings the volumes as they are now",
                            WritePipeline.this.group, receiverSeq);
                }
                overflow.store().persist(false, foldedSeq, dirtySinceNanos, false);
                crashRecovery = false;
                bitmapMode = false;
                LOG.info("group {}: back to journal mode after seq {}; {} bytes of dirty regions to resync",
                        WritePipeline.this.group, capturedSeq, overflow.dirty().dirtyBytes());
                onDone.accept(true);
            }

            @Override
            public void refused(String why) {
                onDone.accept(false);
            }
        });
    }

    /** The dirty map stands for no write any more (its resync ended). Any thread. */
    public void dirtyResynced() {
        dirtySinceNanos = 0;
    }

    /** Highest seq assigned in this group (journaled). */
    public long capturedSeq() {
        return capturedSeq;
    }

    /** Requests that NBD connections hold because the ring is full (their reading is suspended). */
    public int heldRequests() {
        return heldRequests.get();
    }

    /** Why the group stopped accepting writes, or null while it is healthy. */
    public String failure() {
        return failure;
    }

    /**
     * Captures a write. Takes ownership of one reference to {@code data}. {@code done} is called
     * after the journal append and the backing write (and, with {@code fua}, their sync).
     */
    public void submitWrite(int volume, long offset, ByteBuf data, boolean fua, IoCompletion done) {
        publish(WriteEvent.WRITE, volume, offset, data.readableBytes(), fua, data, done);
    }

    public void submitWriteZeroes(int volume, long offset, long length, boolean fua, IoCompletion done) {
        publish(WriteEvent.WRITE_ZEROES, volume, offset, length, fua, null, done);
    }

    public void submitTrim(int volume, long offset, long length, boolean fua, IoCompletion done) {
        publish(WriteEvent.TRIM, volume, offset, length, fua, null, done);
    }

    /**
     * Work the pipeline thread runs between two writes of the group: it sees the volume files
     * exactly as the writes up to {@link Sequenced#capturedSeq()} left them (no write is in
     * progress, none after it has started), and whatever it journals takes the next seqs, so a
     * region read here and journaled is ordered with the group's writes like a write of its own
     * (a later write always carries a higher seq).
     */
    public interface InOrder {
        /** Pipeline thread. An exception fails the group (as a journal failure of a write does). */
        void run(Sequenced group) throws IOException;

        /** The group failed or closed before the work could run: it never will. Pipeline thread. */
        default void refused(String why) {
        }
    }

    /** What {@link InOrder} work sees of the group; valid only while it runs. */
    public interface Sequenced {
        VolumeFile file(int volume);

        /** The seq of the last write applied to the files. */
        long capturedSeq();

        /**
         * Journals a record at the next seq without touching the volume: {@link Journal#WRITE}
         * with exactly {@code length} bytes of {@code data}, or {@link Journal#WRITE_ZEROES}
         * with none. Returns the seq.
         */
        long journal(int volume, byte type, long offset, long length, ByteBuffer data);
    }

    /** Queues {@code work} behind every request published so far, without waiting; false when the ring is full. */
    public boolean tryRunInOrder(InOrder work) {
        return !closed && tryPublish(WriteEvent.IN_ORDER, 0, 0, 0, false, null, null, work);
    }

    /** Completes once every write of this group answered before the call is durable. */
    public void submitFlush(IoCompletion done) {
        publish(WriteEvent.FLUSH, 0, 0, 0, false, null, done);
    }

    private void publish(byte op, int volume, long offset, long length, boolean fua, ByteBuf data, IoCompletion done) {
        if (closed) {
            if (data != null) {
                data.release();
            }
            done.complete(NbdErrors.ESHUTDOWN);
            return;
        }
        long slot = ring.next();
        try {
            ring.get(slot).set(op, volume, offset, length, fua, data, done);
        } finally {
            ring.publish(slot);
        }
    }

    /**
     * The intake of one NBD connection: publishes without ever waiting for a ring slot. Owned by
     * the connection's event loop ({@code flow}'s executor).
     */
    public Producer producer(BlockDevice.ConnectionFlow flow) {
        return new Producer(flow);
    }

    /** Claims a slot without waiting and publishes into it; false when the ring is full. */
    private boolean tryPublish(byte op, int volume, long offset, long length, boolean fua, ByteBuf data,
                               IoCompletion done) {
        return tryPublish(op, volume, offset, length, fua, data, done, null);
    }

    /** As above, with the in-order work of an {@link WriteEvent#IN_ORDER} event. */
    private boolean tryPublish(byte op, int volume, long offset, long length, boolean fua, ByteBuf data,
                               IoCompletion done, InOrder work) {
        long slot;
        try {
            slot = ring.tryNext();
        } catch (InsufficientCapacityException full) {
            return false;
        }
        try {
            WriteEvent event = ring.get(slot);
            event.set(op, volume, offset, length, fua, data, done);
            event.work = work;
        } finally {
            ring.publish(slot);
        }
        return true;
    }

    /** Hands every waiting producer back to its event loop; after slots were freed or on close. */
    private void wakeProducers() {
        Producer producer;
        while ((producer = waitingForRoom.poll()) != null) {
            try {
                producer.scheduleRetry();
            } catch (RuntimeException e) {
                LOG.warn("group {}: could not hand held requests back to their connection: {}", group, e.toString());
            }
        }
    }

    private void fail(String reason) {
        if (failure == null) {
            failure = reason;
            LOG.error("group {}: writes are refused from now on (EIO): {}", group, reason);
        }
    }

    /**
     * Stops accepting requests, finishes everything already in the ring (answering it), syncs,
     * and stops both threads. The journal and files stay open: they belong to the caller. Close
     * the NBD server first (as the agent does): a request published while this runs may be
     * left unanswered.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closedForWork = true;
        try {
            disruptor.shutdown(30, TimeUnit.SECONDS);
        } catch (com.lmax.disruptor.TimeoutException e) {
            LOG.error("group {}: pipeline did not drain within 30 s; halting it", group);
            disruptor.halt();
        }
        wakeProducers(); // requests still held are answered ESHUTDOWN
        io.ferry.capture.activity.ActivityLog log = activityLog;
        committer.submit(new GroupCommitter.Batch(new IoCompletion[0], allTrue(files.length),
                log == null ? 0 : log.writes()));
        committer.close();
    }

    private static boolean[] allTrue(int n) {
        boolean[] all = new boolean[n];
        java.util.Arrays.fill(all, true);
        return all;
    }

    /** The pipeline thread's handler: the group's sequencer. */
    private final class Sequencer implements EventHandler<WriteEvent> {
        private final List<IoCompletion> waiters = new ArrayList<>();
        private boolean[] dirty = new boolean[files.length];
        private boolean captured;
        private Sequence released;

        @Override
        public void setSequenceCallback(Sequence sequenceCallback) {
            this.released = sequenceCallback;
        }

        @Override
        public void onStart() {
            sequencerStarted.countDown();
        }

        @Override
        public void onEvent(WriteEvent event, long ringSeq, boolean endOfBatch) {
            if (event.op == WriteEvent.IN_ORDER) {
                runInOrder(event);
            } else {
                onRequest(event);
            }
            if (endOfBatch) {
                if (!waiters.isEmpty()) {
                    io.ferry.capture.activity.ActivityLog log = activityLog;
                    committer.submit(new GroupCommitter.Batch(waiters.toArray(IoCompletion[]::new), dirty,
                            log == null ? 0 : log.writes()));
                    waiters.clear();
                    dirty = new boolean[files.length];
                }
                if (captured) {
                    captured = false;
                    afterBatch.run();
                }
            }
            if (endOfBatch || ((ringSeq & (RELEASE_EVERY - 1)) == RELEASE_EVERY - 1 && !waitingForRoom.isEmpty())) {
                freeSlotsUpTo(ringSeq);
            }
        }

        private void runInOrder(WriteEvent event) {
            InOrder work = event.work;
            event.clear();
            long before = capturedSeq;
            if (failure != null || closedForWork) {
                work.refused(failure != null ? failure : "the group is closing");
                return;
            }
            try {
                work.run(sequenced);
            } catch (Exception e) {
                fail("in-order work " + work + " failed: " + e);
                work.refused(String.valueOf(e));
            }
            if (capturedSeq != before) {
                captured = true;
            }
        }

        private final Sequenced sequenced = new Sequenced() {
            @Override
            public VolumeFile file(int volume) {
                return files[volume];
            }

            @Override
            public long capturedSeq() {
                return capturedSeq;
            }

            @Override
            public long journal(int volume, byte type, long offset, long length, ByteBuffer data) {
                if (type != Journal.WRITE && type != Journal.WRITE_ZEROES) {
                    throw new IllegalArgumentException("in-order work journals WRITE or WRITE_ZEROES, not type " + type);
                }
                if (!bitmapMode && !admits(length, type)) {
                    fold();
                }
                if (bitmapMode) {
                    // a sync read after a fold: the region is marked instead, the sync starts over
                    overflow.dirty().mark(volume, offset, length);
                    return capturedSeq;
                }
                long seq = capturedSeq + 1;
                journal.append(volumeNames[volume], seq, offset, length, clock.epochNanos(), type, data);
                capturedSeq = seq;
                return seq;
            }
        };

        private void onRequest(WriteEvent event) {
            IoCompletion done = event.done;
            int errno;
            long startNs = System.nanoTime();
            try {
                errno = apply(event);
            } catch (Exception e) {
                fail(describe(event) + " failed: " + e);
                errno = NbdErrors.EIO;
            } finally {
                if (event.data != null) {
                    event.data.release();
                }
                event.clear();
            }
            if (event.op != WriteEvent.FLUSH) {
                writeLatency.recordNanos(System.nanoTime() - startNs);
            }
            AckGate gate = ackGate;
            if (gate != null && errno == NbdErrors.OK && event.op != WriteEvent.FLUSH) {
                long seq = capturedSeq;
                IoCompletion answer = done;
                done = event.fua
                        ? syncErrno -> {
                            if (syncErrno == NbdErrors.OK) {
                                gate.completeWhenAcked(seq, answer);
                            } else {
                                answer.complete(syncErrno);
                            }
                        }
                        : null;
                if (done == null) {
                    gate.completeWhenAcked(seq, answer);
                }
            }
            if (done != null) {
                if (errno != NbdErrors.OK || !(event.fua || event.op == WriteEvent.FLUSH)) {
                    done.complete(errno);
                } else {
                    waiters.add(done);
                }
            }
            if (event.op != WriteEvent.FLUSH) {
                captured = true;
            }
        }

        /**
         * Gives the slots up to {@code ringSeq} back to producers before the batch ends (the
         * event is no longer read), then wakes producers that wait for room. The volatile store
         * comes before the poll of waiters, and a producer registers before it checks for room
         * again, so no producer can be left waiting on a ring that has room.
         */
        private void freeSlotsUpTo(long ringSeq) {
            released.setVolatile(ringSeq);
            wakeProducers();
        }

        private int apply(WriteEvent event) throws Exception {
            if (event.op == WriteEvent.FLUSH) {
                return failure == null ? NbdErrors.OK : NbdErrors.EIO;
            }
            if (failure != null) {
                return NbdErrors.EIO;
            }
            if (fencedSeq >= 0) {
                return NbdErrors.EPERM; // promoted at the DR site: this copy takes no more writes
            }
            int v = event.volume;
            long nowNanos = clock.epochNanos();
            if (!bitmapMode && overflow != null
                    && !admits(event.op == WriteEvent.WRITE ? event.length : 0, Journal.WRITE)) {
                fold();
            }
            io.ferry.capture.activity.ActivityLog log = activityLog;
            if (log != null) {
                log.touch(v, event.offset, event.length);
            }
            if (bitmapMode) {
                return applyUnjournaled(event, v, nowNanos);
            }
            long seq = capturedSeq + 1;
            switch (event.op) {
                case WriteEvent.WRITE -> {
                    ByteBuffer payload = event.data.nioBuffer();
                    journal.append(volumeNames[v], seq, event.offset, event.length, nowNanos, Journal.WRITE, payload);
                    capturedSeq = seq;
                    files[v].write(event.offset, payload);
                }
                case WriteEvent.WRITE_ZEROES, WriteEvent.TRIM -> {
                    byte type = event.op == WriteEvent.TRIM ? Journal.TRIM : Journal.WRITE_ZEROES;
                    journal.append(volumeNames[v], seq, event.offset, event.length, nowNanos, type, null);
                    capturedSeq = seq;
                    // A trimmed range reads back as zeroes, so the journal replays to the same bytes.
                    files[v].zero(event.offset, event.length);
                }
                default -> throw new IllegalStateException("unknown op " + event.op);
            }
            dirty[v] = true;
            return NbdErrors.OK;
        }

        /**
         * Bitmap mode: marks the write's blocks (in the mapped file, so before the data reaches
         * the volume file) and writes it; no seq, no journal record.
         */
        private int applyUnjournaled(WriteEvent event, int v, long nowNanos) throws IOException {
            overflow.dirty().mark(v, event.offset, event.length);
            if (dirtySinceNanos == 0) {
                dirtySinceNanos = nowNanos;
            }
            if (event.op == WriteEvent.WRITE) {
                files[v].write(event.offset, event.data.nioBuffer());
            } else {
                files[v].zero(event.offset, event.length);
            }
            dirty[v] = true;
            return NbdErrors.OK;
        }

        private String describe(WriteEvent event) {
            return "op " + event.op + " on " + volumeNames[event.volume] + " at " + event.offset + "+" + event.length;
        }
    }

    private boolean admits(long length, byte type) {
        Overflow o = overflow;
        return o == null || o.budget().admits(type == Journal.WRITE ? length : 0);
    }

    /**
     * Pipeline thread: the journal cannot take the next record. Every record the receiver does
     * not hold durable is marked in the dirty map (made durable), the group persists bitmap mode,
     * and the journal is released (here, or by the shipper once its reader is closed). Writes
     * are never refused for it.
     */
    private void fold() {
        Overflow o = overflow;
        io.ferry.capture.bitmap.DirtyMap map = o.dirty();
        map.refold();
        java.util.function.LongSupplier durable = releasableSeq;
        long from = Math.max(journal.firstSeq(), (durable == null ? 0 : durable.getAsLong()) + 1);
        io.ferry.capture.bitmap.JournalMarks.Marked marked = from <= capturedSeq
                ? io.ferry.capture.bitmap.JournalMarks.mark(journal, from, java.util.List.of(volumeNames), map)
                : new io.ferry.capture.bitmap.JournalMarks.Marked(0, 0);
        long oldest = marked.firstCaptureNanos();
        long records = marked.records();
        map.force();
        long since = dirtySinceNanos != 0 ? dirtySinceNanos : oldest != 0 ? oldest : clock.epochNanos();
        try {
            o.store().persist(true, capturedSeq, since, crashRecovery);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot persist bitmap mode of group " + group, e);
        }
        foldedSeq = capturedSeq;
        dirtySinceNanos = since;
        bitmapMode = true;
        folds++;
        LOG.warn("group {}: the journal reached journal.maxBytes ({} bytes used of {}): {} record(s) after seq {} folded"
                        + " into the dirty map ({} bytes dirty); bitmap mode until the receiver takes a resync", group,
                o.budget().usedBytes(), o.budget().maxBytes(), records, from - 1, map.dirtyBytes());
        if (o.releaseAtFold()) {
            journal.startOver(foldedSeq);
            capturedSeq = journal.lastSeq();
            releasedFolds = folds;
        }
    }

    /** Slots are handed back to waiting producers at least this often within a long batch. */
    private static final int RELEASE_EVERY = 64;

    /**
     * One connection's way into the ring. While it holds requests (the ring was full), every later
     * request of the connection queues behind them, so the connection's order is kept, and the
     * connection reads nothing more. Owned by the connection's event loop, except
     * {@link #scheduleRetry}.
     */
    public final class Producer {
        private final BlockDevice.ConnectionFlow flow;
        private final ArrayDeque<WriteEvent> held = new ArrayDeque<>();
        private final AtomicBoolean retryScheduled = new AtomicBoolean();
        private final Runnable retry = this::retryHeld;

        private Producer(BlockDevice.ConnectionFlow flow) {
            this.flow = flow;
        }

        public void submitWrite(int volume, long offset, ByteBuf data, boolean fua, IoCompletion done) {
            offer(WriteEvent.WRITE, volume, offset, data.readableBytes(), fua, data, done);
        }

        public void submitWriteZeroes(int volume, long offset, long length, boolean fua, IoCompletion done) {
            offer(WriteEvent.WRITE_ZEROES, volume, offset, length, fua, null, done);
        }

        public void submitTrim(int volume, long offset, long length, boolean fua, IoCompletion done) {
            offer(WriteEvent.TRIM, volume, offset, length, fua, null, done);
        }

        public void submitFlush(IoCompletion done) {
            offer(WriteEvent.FLUSH, 0, 0, 0, false, null, done);
        }

        /** Requests held for want of ring room; event loop. */
        public int heldRequests() {
            return held.size();
        }

        private void offer(byte op, int volume, long offset, long length, boolean fua, ByteBuf data, IoCompletion done) {
            if (closed) {
                refuse(data, done);
                return;
            }
            if (held.isEmpty() && tryPublish(op, volume, offset, length, fua, data, done)) {
                return;
            }
            WriteEvent request = new WriteEvent();
            request.set(op, volume, offset, length, fua, data, done);
            held.addLast(request);
            heldRequests.incrementAndGet();
            if (held.size() == 1) {
                flow.suspend();
                waitForRoom();
            }
        }

        private void waitForRoom() {
            waitingForRoom.add(this);
            java.lang.invoke.VarHandle.fullFence();
            // Slots may have been freed between the failed claim and the registration.
            if (closed || ring.hasAvailableCapacity(1)) {
                scheduleRetry();
            }
        }

        /** Any thread: retry the held requests on the connection's event loop. */
        private void scheduleRetry() {
            if (retryScheduled.compareAndSet(false, true)) {
                try {
                    flow.executor().execute(retry);
                } catch (RejectedExecutionException e) {
                    abandon();
                }
            }
        }

        /**
         * The connection's event loop is shut down (the NBD server closed): nobody can be answered
         * any more, so the held requests are dropped and their payloads released. The loop no
         * longer runs this producer, so the calling thread may empty it.
         */
        private void abandon() {
            WriteEvent request;
            while ((request = held.pollFirst()) != null) {
                heldRequests.decrementAndGet();
                if (request.data != null) {
                    request.data.release();
                }
            }
        }

        private void retryHeld() {
            retryScheduled.set(false);
            WriteEvent request;
            while ((request = held.peekFirst()) != null) {
                if (closed) {
                    refuse(request.data, request.done);
                } else if (!tryPublish(request.op, request.volume, request.offset, request.length, request.fua,
                        request.data, request.done)) {
                    waitForRoom();
                    return;
                }
                held.pollFirst();
                heldRequests.decrementAndGet();
            }
            flow.resume();
        }

        private void refuse(ByteBuf data, IoCompletion done) {
            if (data != null) {
                data.release();
            }
            done.complete(NbdErrors.ESHUTDOWN);
        }
    }

    /** Should never fire: the sequencer catches everything. Logs and keeps the ring moving. */
    private final class LastResortHandler implements ExceptionHandler<WriteEvent> {
        @Override
        public void handleEventException(Throwable ex, long sequence, WriteEvent event) {
            fail("pipeline error: " + ex);
        }

        @Override
        public void handleOnStartException(Throwable ex) {
            fail("pipeline start error: " + ex);
        }

        @Override
        public void handleOnShutdownException(Throwable ex) {
            LOG.warn("group {}: pipeline shutdown error: {}", group, ex.toString());
        }
    }
}
