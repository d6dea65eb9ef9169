package io.ferry.capture;

import io.ferry.capture.activity.ActivityLog;
import io.ferry.capture.activity.CrashRecovery;
import io.ferry.capture.bitmap.DirtyMap;
import io.ferry.capture.bitmap.JournalBudget;
import io.ferry.capture.journal.ChronicleJournal;
import io.ferry.capture.pipeline.Overflow;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.capture.state.Generation;
import io.ferry.capture.state.GroupStateFile;
import io.ferry.daemon.PrivateFiles;
import io.ferry.daemon.Startup;
import io.ferry.time.EpochNanoClock;
import io.ferry.volume.VolumeFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consistency group's whole capture side, as either daemon hosts it: the agent for the
 * volumes it protects, the DR site for a promoted group's replicas (the writes made there since
 * the promote). It puts together the {@link CaptureGroup} (journal, volume files, write
 * pipeline, exports), the group's identity and state file, its {@link DirtyMap} for what the
 * journal cannot hold, its {@link ActivityLog}, and the mode {@link CrashRecovery} finds after a
 * crash, all under one data directory:
 * {@code journal/<group>}, {@code bitmap/}, {@code activity/}, {@code state/}.
 *
 * <p>Opened on the daemon's starting thread; on failure everything opened so far is closed again.
 * {@link #close} stops the pipeline first (everything accepted is answered and synced), then the
 * activity log and the dirty map it marks.
 */
public final class GroupCapture implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCapture.class);
    /** Where the groups' dirty maps live, under the data directory. */
    public static final String BITMAP_DIR = "bitmap";
    /** Where the groups' activity logs live, under the data directory. */
    public static final String ACTIVITY_DIR = "activity";
    public static final String JOURNAL_DIR = "journal";

    /**
     * How to open a group's capture.
     *
     * @param journalSegmentBytes the journal's file size
     * @param releaseAtFold the group has no shipper (see {@link Overflow#releaseAtFold})
     * @param generationIfNew the generation id a group without state starts with; 0 for a random one
     */
    public record Options(long journalSegmentBytes, int ringSize, boolean releaseAtFold, long generationIfNew) {
    }

    private final CaptureGroup capture;
    private final DirtyMap dirty;
    private final ActivityLog activity;
    private final ModeStore store;
    private final Generation.Identity identity;

    private GroupCapture(CaptureGroup capture, DirtyMap dirty, ActivityLog activity, ModeStore store,
            Generation.Identity identity) {
        this.capture = capture;
        this.dirty = dirty;
        this.activity = activity;
        this.store = store;
        this.identity = identity;
    }

    /**
     * Opens group {@code name} over {@code volumes} with its state under {@code dataDir}, its
     * journal counted in {@code budget}, and recovers from a crash of the process or the host.
     */
    public static GroupCapture open(String name, Path dataDir, List<CaptureGroup.Volume> volumes, JournalBudget budget,
            Options options, EpochNanoClock clock) throws IOException {
        List<AutoCloseable> opened = new ArrayList<>();
        return Startup.openOrClose(() -> closeAll(opened), () -> {
            Path journalRoot = PrivateFiles.directories(dataDir.resolve(JOURNAL_DIR));
            Path bitmapRoot = PrivateFiles.directories(dataDir.resolve(BITMAP_DIR));
            Path activityRoot = PrivateFiles.directories(dataDir.resolve(ACTIVITY_DIR));
            CaptureGroup capture = CaptureGroup.open(name, journalRoot.resolve(name),
                    new ChronicleJournal.Options(options.journalSegmentBytes()), volumes, clock, options.ringSize());
            opened.add(capture);
            var journal = capture.journal();
            Generation.Identity identity = Generation.loadOrCreate(dataDir, name, options.generationIfNew(),
                    () -> journal.lastSeq() == 0 && journal.firstSeq() == 1 && holdNoData(capture.files()));
            List<Long> sizes = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (CaptureGroup.Volume volume : volumes) {
                sizes.add(volume.sizeBytes());
                names.add(volume.name());
            }
            DirtyMap dirty = DirtyMap.open(bitmapRoot, name, sizes);
            opened.add(0, dirty); // closed after the pipeline that marks it
            budget.add(journal);
            ModeStore store = new ModeStore(dataDir.resolve("state"), name);
            GroupStateFile persisted = store.current();
            ActivityLog activity = ActivityLog.open(activityRoot, name, ActivityLog.DEFAULT_SLOTS,
                    ActivityLog.currentBootId());
            opened.add(1, activity); // closed after the pipeline's last sync
            CrashRecovery.Mode mode = CrashRecovery.recover(name, activity, dirty, journal, names, capture.files(),
                    store, new CrashRecovery.Mode(persisted.bitmapMode(), persisted.foldedSeqOrZero(),
                            persisted.dirtySinceNanosOrZero(), persisted.inCrashRecovery()), clock.epochNanos());
            WritePipeline pipeline = capture.pipeline();
            pipeline.overflow(new Overflow(budget, dirty, store, options.releaseAtFold(), mode.bitmap(),
                    mode.foldedSeq(), mode.dirtySinceNanos(), mode.crashRecovery()));
            pipeline.activityLog(activity);
            pipeline.fencing(store, persisted.fencedSeqOrNone());
            if (persisted.fencedSeqOrNone() >= 0) {
                LOG.warn("group {}: fenced since the DR site promoted it at seq {}: its exports are read-only",
                        name, persisted.fencedSeqOrNone());
            }
            if (mode.bitmap() || !dirty.isEmpty()) {
                LOG.warn("group {}: {} with {} bytes of dirty regions to resync", name,
                        mode.bitmap() ? "in bitmap mode" : "in journal mode", dirty.dirtyBytes());
            }
            return new GroupCapture(capture, dirty, activity, store, identity);
        });
    }

    public CaptureGroup capture() {
        return capture;
    }

    public WritePipeline pipeline() {
        return capture.pipeline();
    }

    /** The regions written that the journal does not hold (bitmap mode, crash recovery, fencing). */
    public DirtyMap dirty() {
        return dirty;
    }

    public Generation.Identity identity() {
        return identity;
    }

    /** The group's state file as last persisted. */
    public GroupStateFile state() {
        return store.current();
    }

    @Override
    public void close() throws Exception {
        closeAll(List.of(dirty, activity, capture));
    }

    /** Closes in reverse order; the first failure is thrown after all were tried. */
    private static void closeAll(List<AutoCloseable> parts) throws Exception {
        Exception first = null;
        for (int i = parts.size() - 1; i >= 0; i--) {
            try {
                parts.get(i).close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Whether no volume holds data: then the journal, from its first record, rebuilds them. */
    private static boolean holdNoData(List<VolumeFile> files) throws IOException {
        for (VolumeFile file : files) {
            if (!file.holdsNoData()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Persists a group's mode and fencing in its state file ({@link GroupStateFile#withMode});
     * the pipeline thread calls it at a fold, at the return to journal mode and at a fence.
     */
    private static final class ModeStore implements Overflow.Store, WritePipeline.FenceStore {
        private final Path stateDir;
        private final String group;
        private GroupStateFile current;

        ModeStore(Path stateDir, String group) throws IOException {
            this.stateDir = stateDir;
            this.group = group;
            this.current = GroupStateFile.read(stateDir, group);
            if (current == null) {
                throw new IOException("group " + group + " has no state file in " + stateDir);
            }
        }

        synchronized GroupStateFile current() {
            return current;
        }

        @Override
        public synchronized void persist(boolean bitmap, long foldedSeq, long dirtySinceNanos, boolean crashRecovery)
                throws IOException {
            GroupStateFile next = current.withMode(bitmap, foldedSeq, dirtySinceNanos, crashRecovery);
            next.write(stateDir);
            current = next;
        }

        @Override
        public synchronized void persistFenced(long promotedSeq) throws IOException {
            GroupStateFile next = current.withFenced(promotedSeq);
            next.write(stateDir);
            current = next;
        }
    }
}
