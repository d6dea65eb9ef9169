package io.ferry.capture.pipeline;

import io.ferry.capture.journal.Journal;
import io.ferry.metrics.LatencyRecorder;
import io.ferry.nbd.IoCompletion;
import io.ferry.nbd.NbdErrors;
import io.ferry.volume.VolumeFile;
import io.ferry.worker.Worker;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import org.agrona.concurrent.Agent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sync thread of one consistency group (BookKeeper's ForceWriteThread), run as a
 * {@link Worker}: takes batches of FLUSH and FUA waiters from the pipeline thread, syncs the
 * journal and the backing files the batches touched once for all batches queued meanwhile
 * (group commit), then completes the waiters. Syncs never run on the pipeline thread or on a
 * Netty event loop.
 *
 * <p>Owned by its worker thread; the pipeline thread talks to it only through {@link #submit}.
 */
final class GroupCommitter implements Agent {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitter.class);

    /** What one pipeline batch needs synced before its waiters may be answered. */
    record Batch(IoCompletion[] waiters, boolean[] dirtyVolumes, long activityWrites) {
        Batch(IoCompletion[] waiters, boolean[] dirtyVolumes) {
            this(waiters, dirtyVolumes, 0);
        }
    }

    private final String group;
    private final Journal journal;
    private final VolumeFile[] files;
    private final ConcurrentLinkedQueue<Batch> queue = new ConcurrentLinkedQueue<>();
    private final Consumer<String> onFailure;
    private final List<Batch> drained = new ArrayList<>();
    private final boolean[] dirty;
    private Worker worker;
    /** Where each sync's time goes; set at assembly through {@link WritePipeline#metrics}. */
    volatile LatencyRecorder syncLatency = LatencyRecorder.NOOP;
    /** The group's dirty map, forced with the journal (null: none); set before the first write. */
    volatile io.ferry.capture.bitmap.DirtyMap dirtyMap;
    /** The group's activity log, told what each sync made durable (null: none); set before the first write. */
    volatile io.ferry.capture.activity.ActivityLog activityLog;

    GroupCommitter(String group, Journal journal, VolumeFile[] files, Consumer<String> onFailure) {
        this.onFailure = onFailure;
        this.group = group;
        this.journal = journal;
        this.files = files;
        this.dirty = new boolean[files.length];
    }

    void start() {
        worker = Worker.start(this, Worker.DEFAULT_IDLE_PARK_NANOS);
    }

    /** Called by the pipeline thread only after every write the batch covers was done. */
    void submit(Batch batch) {
        queue.add(batch);
        worker.wake();
    }

    /** Completes every batch already submitted, then stops the thread. */
    void close() {
        worker.close();
    }

    @Override
    public String roleName() {
        return "ferry-sync-" + group;
    }

    /** Syncs once for every batch queued so far and answers their waiters. */
    @Override
    public int doWork() {
        Batch batch;
        while ((batch = queue.poll()) != null) {
            drained.add(batch);
        }
        if (drained.isEmpty()) {
            return 0;
        }
        Arrays.fill(dirty, false);
        long activityWrites = 0;
        for (Batch b : drained) {
            for (int i = 0; i < b.dirtyVolumes().length; i++) {
                dirty[i] |= b.dirtyVolumes()[i];
            }
            activityWrites = Math.max(activityWrites, b.activityWrites());
        }
        int errno = sync(dirty);
        io.ferry.capture.activity.ActivityLog log = activityLog;
        if (errno == NbdErrors.OK && log != null) {
            log.synced(activityWrites);
        }
        int answered = drained.size();
        for (Batch b : drained) {
            for (IoCompletion waiter : b.waiters()) {
                waiter.complete(errno);
            }
        }
        drained.clear();
        return answered;
    }

    /** On the worker thread after the loop stopped: what was submitted before close is answered. */
    @Override
    public void onClose() {
        doWork();
    }

    /**
     * Syncs the journal, the dirty map and every volume file now, on the calling thread (the
     * pipeline thread, when the activity log has no free slot); a failure fails the group.
     */
    void syncNow() throws java.io.IOException {
        boolean[] all = new boolean[files.length];
        Arrays.fill(all, true);
        if (sync(all) != NbdErrors.OK) {
            throw new java.io.IOException("group " + group + ": the sync the activity log needed failed");
        }
    }

    private int sync(boolean[] dirtyVolumes) {
        try {
            long startNs = System.nanoTime();
            io.ferry.capture.bitmap.DirtyMap map = dirtyMap;
            if (map != null) {
                map.force(); // marks first: a write they cover may be durable only after them
            }
            journal.sync();
            for (int i = 0; i < files.length; i++) {
                if (dirtyVolumes[i]) {
                    files[i].force();
                }
            }
            syncLatency.recordNanos(System.nanoTime() - startNs);
            return NbdErrors.OK;
        } catch (Exception e) {
            LOG.error("group {}: sync failed, FLUSH/FUA answered with EIO: {}", group, e.toString());
            onFailure.accept("sync failed: " + e);
            return NbdErrors.EIO;
        }
    }
}
