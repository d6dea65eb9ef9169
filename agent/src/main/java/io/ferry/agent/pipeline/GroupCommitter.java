package io.ferry.agent.pipeline;

import io.ferry.agent.journal.Journal;
import io.ferry.metrics.LatencyRecorder;
import io.ferry.volume.VolumeFile;
import io.ferry.nbd.IoCompletion;
import io.ferry.nbd.NbdErrors;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sync thread of one consistency group (BookKeeper's ForceWriteThread): takes batches of
 * FLUSH and FUA waiters from the pipeline thread, syncs the journal and the backing files the
 * batches touched once for all batches queued meanwhile (group commit), then completes the
 * waiters. Syncs never run on the pipeline thread or on a Netty event loop.
 *
 * <p>Owned by its own thread; the pipeline thread talks to it only through {@link #submit}.
 */
final class GroupCommitter implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitter.class);

    /** What one pipeline batch needs synced before its waiters may be answered. */
    record Batch(IoCompletion[] waiters, boolean[] dirtyVolumes) {
    }

    private static final Batch POISON = new Batch(new IoCompletion[0], new boolean[0]);

    private final String group;
    private final Journal journal;
    private final VolumeFile[] files;
    private final LinkedBlockingQueue<Batch> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final java.util.function.Consumer<String> onFailure;
    /** Where each sync's time goes; set at assembly through {@link WritePipeline#metrics}. */
    volatile LatencyRecorder syncLatency = LatencyRecorder.NOOP;

    GroupCommitter(String group, Journal journal, VolumeFile[] files, java.util.function.Consumer<String> onFailure) {
        this.onFailure = onFailure;
        this.group = group;
        this.journal = journal;
        this.files = files;
        this.thread = new Thread(this, "ferry-sync-" + group);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Called by the pipeline thread only after every write the batch covers was done. */
    void submit(Batch batch) {
        queue.add(batch);
    }

    /** Completes every batch already submitted, then stops the thread. */
    void close() throws InterruptedException {
        queue.add(POISON);
        thread.join();
    }

    @Override
    public void run() {
        List<Batch> drained = new ArrayList<>();
        boolean[] dirty = new boolean[files.length];
        boolean running = true;
        while (running) {
            try {
                drained.add(queue.take());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            queue.drainTo(drained);
            java.util.Arrays.fill(dirty, false);
            for (Batch batch : drained) {
                if (batch == POISON) {
                    running = false;
                    continue;
                }
                for (int i = 0; i < batch.dirtyVolumes().length; i++) {
                    dirty[i] |= batch.dirtyVolumes()[i];
                }
            }
            int errno = sync(dirty);
            for (Batch batch : drained) {
                for (IoCompletion waiter : batch.waiters()) {
                    waiter.complete(errno);
                }
            }
            drained.clear();
        }
    }

    private int sync(boolean[] dirty) {
        try {
            long startNs = System.nanoTime();
            journal.sync();
            for (int i = 0; i < files.length; i++) {
                if (dirty[i]) {
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
