package io.ferry.capture.activity;

import io.ferry.capture.bitmap.DirtyMap;
import io.ferry.capture.bitmap.JournalMarks;
import io.ferry.capture.journal.Journal;
import io.ferry.capture.pipeline.Overflow;
import io.ferry.capture.state.JournalReplay;
import io.ferry.volume.VolumeFile;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a capture group does at start, before its first write, after the daemon did not stop
 * cleanly. Two cases, told apart by the activity log's boot id:
 *
 * <ul>
 *   <li><b>The process died, the host did not</b> (kill -9, an OOM kill): the page cache kept
 *       every journal record and every volume write. Only the last journal record may lack its
 *       volume write (the pipeline journals a write, then writes it), so it is written again
 *       (idempotent: no later write exists). Nothing else is needed.</li>
 *   <li><b>The host crashed</b>: writes since the last sync may be lost from the volume files,
 *       the journal's tail may be lost too, and the receiver may hold seqs the journal no longer
 *       has. So this is a fold with an unknown receiver position: the activity log's extents and
 *       every record left in the journal are marked in the dirty map (forced), the group is
 *       persisted in bitmap mode with {@code crashRecovery}, and the journal is released. At the
 *       next connection the seqs go on after the receiver's, and a checksum resync of the marked
 *       regions makes the replica converge on what the primary holds now; the receiver keeps its
 *       last consistent point restorable meanwhile.</li>
 * </ul>
 * After a host crash the activity log is emptied once the marks are durable; after a process
 * crash it keeps its extents until a sync covers them.
 */
public final class CrashRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(CrashRecovery.class);

    private CrashRecovery() {
    }

    /** The group's mode as persisted; what {@link #recover} returns is the mode to start in. */
    public record Mode(boolean bitmap, long foldedSeq, long dirtySinceNanos, boolean crashRecovery) {
    }

    /**
     * Recovers group {@code group} (volumes {@code volumeNames}, files by index) from what
     * {@code log} found at open; see the class comment. Returns the mode to start the pipeline in.
     */
    public static Mode recover(String group, ActivityLog log, DirtyMap dirty, Journal journal,
            List<String> volumeNames, List<VolumeFile> files, Overflow.Store store, Mode persisted, long nowNanos)
            throws IOException {
        List<ActivityLog.Extent> lost = log.hostCrashExtents();
        Mode mode = persisted;
        if (!lost.isEmpty()) {
            long marked = 0;
            for (ActivityLog.Extent extent : lost) {
                if (extent.volume() < 0 || extent.volume() >= files.size()) {
                    continue;
                }
                long size = files.get(extent.volume()).sizeBytes();
                if (extent.offset() < size) {
                    long length = Math.min(extent.length(), size - extent.offset());
                    dirty.mark(extent.volume(), extent.offset(), length);
                    marked += length;
                }
            }
            long records = JournalMarks.mark(journal, journal.firstSeq(), volumeNames, dirty).records();
            dirty.force();
            long since = persisted.dirtySinceNanos() != 0 ? persisted.dirtySinceNanos() : nowNanos;
            long folded = Math.max(journal.lastSeq(), persisted.foldedSeq());
            store.persist(true, folded, since, true);
            mode = new Mode(true, folded, since, true);
            LOG.warn("group {}: the host crashed while the group had writes in flight: {} activity-log extent(s)"
                            + " ({} bytes) and {} journal record(s) after seq {} are marked for a checksum resync; the"
                            + " receiver keeps its last consistent point meanwhile", group, lost.size(), marked,
                    records, journal.firstSeq() - 1);
            log.reset(); // only now that the marks are durable

        } else if (!log.foundAtOpen().isEmpty() && !persisted.bitmap() && journal.lastSeq() >= journal.firstSeq()) {
            Map<String, VolumeFile> byName = new HashMap<>();
            for (int i = 0; i < volumeNames.size(); i++) {
                byName.put(volumeNames.get(i), files.get(i));
            }
            long last = journal.lastSeq();
            JournalReplay.replay(journal, last, last, byName);
            for (VolumeFile file : files) {
                file.force();
            }
            LOG.info("group {}: the agent did not stop cleanly; journal record {} was written to its volume again",
                    group, last);
        }
        // After a process crash the extents stay listed: their writes are in the page cache, not
        // yet on disk, and a host crash before the next sync would still need them.
        return mode;
    }
}
