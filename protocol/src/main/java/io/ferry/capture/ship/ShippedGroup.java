package io.ferry.capture.ship;

import io.ferry.capture.journal.Journal;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.wire.VolumeInfo;
import java.util.List;

/** What the shipper needs of one consistency group. */
public record ShippedGroup(String name, Journal journal, WritePipeline pipeline, List<VolumeInfo> volumes,
                           long generationId, long rpoNanos, long maxDeltaBytes, long maxInFlightBytes) {
}
