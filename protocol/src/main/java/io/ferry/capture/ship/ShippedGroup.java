package io.ferry.capture.ship;

import io.ferry.capture.journal.Journal;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.wire.VolumeInfo;
import java.util.List;

/** What the shipper needs of one consistency group. */
public record ShippedGroup(String name, Journal journal, WritePipeline pipeline, List<VolumeInfo> volumes,
                           long generationId, long rpoNanos, long maxDeltaBytes, long maxInFlightBytes,
                           SyncSource sync) {

    /**
     * What a sync of the group reads: its volume files by volume index, whether the journal
     * holds every write since the volumes were created empty (then a replica that is empty too
     * needs no read at all), and the bound on the sync's data bytes per second (0: none).
     */
    public record SyncSource(List<io.ferry.volume.VolumeFile> files, boolean journalCoversVolumes, long maxRateBytes,
                             io.ferry.capture.bitmap.DirtyMap dirty, long windowBytes) {
        public SyncSource {
            files = List.copyOf(files);
        }

        /** Without a dirty map (the journal is unbounded), with the default sync window. */
        public SyncSource(List<io.ferry.volume.VolumeFile> files, boolean journalCoversVolumes, long maxRateBytes) {
            this(files, journalCoversVolumes, maxRateBytes, null, io.ferry.capture.sync.GroupSync.WINDOW_BYTES);
        }
    }

    /** A group that cannot sync (a receiver asking for a sync fails it). */
    public ShippedGroup(String name, Journal journal, WritePipeline pipeline, List<VolumeInfo> volumes,
            long generationId, long rpoNanos, long maxDeltaBytes, long maxInFlightBytes) {
        this(name, journal, pipeline, volumes, generationId, rpoNanos, maxDeltaBytes, maxInFlightBytes, null);
    }
}
