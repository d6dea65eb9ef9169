package io.ferry.capture;

import io.ferry.capture.journal.ChronicleJournal;
import io.ferry.capture.journal.Journal;
import io.ferry.capture.nbd.CapturedVolume;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.daemon.Startup;
import io.ferry.time.EpochNanoClock;
import io.ferry.volume.VolumeFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The capture side of one consistency group, as a component either daemon can host (the agent
 * for the volumes it protects; the DR site, later, for a promoted group it replicates back): the
 * group's journal, its volume files, its write pipeline and the block devices an NBD server
 * exports for it.
 *
 * <p>Its ports are narrow: writes come in through {@link #exports()} (the NBD side); the journal
 * and the pipeline go out to a shipper ({@code io.ferry.capture.ship}). Opened on the daemon's
 * starting thread; afterwards every part keeps its own owner thread (see each class).
 */
public final class CaptureGroup implements AutoCloseable {

    /** One volume of the group: its export name, its file and the size it must have. */
    public record Volume(String name, Path path, long sizeBytes) {
    }

    private final String name;
    private final Journal journal;
    private final List<VolumeFile> files;
    private final WritePipeline pipeline;
    private final List<CapturedVolume> exports;

    private CaptureGroup(String name, Journal journal, List<VolumeFile> files, WritePipeline pipeline,
            List<CapturedVolume> exports) {
        this.name = name;
        this.journal = journal;
        this.files = files;
        this.pipeline = pipeline;
        this.exports = exports;
    }

    /**
     * Opens the group's journal in {@code journalDir} and its volume files (a missing file is
     * created sparse at its size; an existing one must have exactly that size), and starts its
     * pipeline. On failure everything opened so far is closed again.
     */
    public static CaptureGroup open(String name, Path journalDir, List<Volume> volumes, EpochNanoClock clock,
            int ringSize) throws IOException {
        return open(name, journalDir, ChronicleJournal.Options.defaults(), volumes, clock, ringSize);
    }

    /** As above, with the journal's options (its segment size). */
    public static CaptureGroup open(String name, Path journalDir, ChronicleJournal.Options journalOptions,
            List<Volume> volumes, EpochNanoClock clock, int ringSize) throws IOException {
        List<AutoCloseable> opened = new ArrayList<>();
        return Startup.openOrClose(() -> closeAll(opened), () -> {
            Journal journal = ChronicleJournal.open(journalDir, name, journalOptions);
            opened.add(journal);
            List<String> names = new ArrayList<>();
            List<VolumeFile> files = new ArrayList<>();
            for (Volume volume : volumes) {
                VolumeFile file = VolumeFile.openOrCreate(volume.path(), volume.sizeBytes());
                opened.add(file);
                names.add(volume.name());
                files.add(file);
            }
            WritePipeline pipeline = WritePipeline.start(name, names, files, journal, clock, ringSize);
            opened.add(pipeline);
            List<CapturedVolume> exports = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                exports.add(new CapturedVolume(names.get(i), i, files.get(i), pipeline));
            }
            return new CaptureGroup(name, journal, List.copyOf(files), pipeline, List.copyOf(exports));
        });
    }

    public String name() {
        return name;
    }

    public Journal journal() {
        return journal;
    }

    public WritePipeline pipeline() {
        return pipeline;
    }

    /** The volume files, by volume index. */
    public List<VolumeFile> files() {
        return files;
    }

    /** The block devices to export, one per volume, named after it. */
    public List<CapturedVolume> exports() {
        return exports;
    }

    /** Drains and syncs the pipeline (everything accepted is answered), then closes the files and the journal. */
    @Override
    public void close() throws Exception {
        List<AutoCloseable> parts = new ArrayList<>();
        parts.add(journal);
        parts.addAll(files);
        parts.add(pipeline);
        closeAll(parts);
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
}
