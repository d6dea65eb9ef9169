package io.ferry.replica.drill;

import io.ferry.daemon.PrivateFiles;
import io.ferry.delta.Delta;
import io.ferry.replica.undo.UndoLog;
import io.ferry.volume.VolumeFile;
import io.ferry.wire.VolumeInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The disaster-recovery drill of one group: at most one at a time, a writable copy-on-write
 * clone ({@link DrillVolume}) of every replica at a point, while replication goes on. The
 * applier shows every delta to {@link #beforeWrite} before it overwrites the replicas, so the
 * clones keep their point; nothing written to a clone reaches a replica.
 *
 * <p>Threads: {@link #start}, {@link #beforeWrite} and {@link #stop} run on the group's applier
 * thread (start and stop as commands, between batches), so the clones have one owner for their
 * setup and preserve; their NBD I/O runs on the drill's own worker ({@link DrillIo}). The
 * getters are any thread.
 */
public final class DrillControl {
    private static final Logger LOG = LoggerFactory.getLogger(DrillControl.class);

    /** Writes the undo records after a seq, newest first, to a target (the group's undo log). */
    @FunctionalInterface
    public interface Rollback {
        void rollback(long seq, UndoLog.Target target) throws IOException;
    }

    private final String group;
    private volatile DrillVolume[] clones;
    private volatile long drillSeq;
    private DrillIo io; // applier thread
    /** The running drill's clones were closed after a failed preserve; applier thread. */
    private boolean broken;

    public DrillControl(String group) {
        this.group = group;
    }

    /**
     * Starts a drill at {@code seq} of replicas that now hold {@code appliedSeq}: creates the
     * clones with their scratch files in {@code scratchDir} and, when {@code seq} is earlier,
     * rolls the clones (never the replicas) back through {@code rollback}. Applier thread.
     *
     * @return the clones, by volume index
     * @throws IllegalStateException if a drill runs already
     */
    public List<DrillVolume> start(long seq, VolumeFile[] files, List<VolumeInfo> volumes, Path scratchDir,
            long appliedSeq, Rollback rollback) throws IOException {
        if (clones != null) {
            throw new IllegalStateException("group " + group + " cannot start a drill: a drill is running already"
                    + " (at seq " + drillSeq + ")");
        }
        PrivateFiles.directories(scratchDir);
        DrillIo drillIo = new DrillIo(group);
        DrillVolume[] created = new DrillVolume[files.length];
        try {
            for (int v = 0; v < files.length; v++) {
                created[v] = DrillVolume.create(files[v], scratchDir.resolve(volumes.get(v).name() + ".scratch"),
                        drillIo);
            }
            if (seq < appliedSeq) {
                rollback.rollback(seq, target(created));
            }
        } catch (IOException | RuntimeException e) {
            closeClones(created);
            drillIo.close();
            throw e;
        }
        io = drillIo;
        broken = false;
        drillSeq = seq;
        clones = created;
        return List.of(created);
    }

    /**
     * Applier thread, before {@code delta} is written to the replicas: the clones keep what it
     * overwrites. A clone that cannot (disk full) ends the drill's clones, never replication:
     * they are closed, so clients get EIO, never wrong data.
     */
    public void beforeWrite(Delta delta) {
        DrillVolume[] running = clones;
        if (running == null || broken) {
            return;
        }
        try {
            int count = delta.extentCount();
            for (int i = 0; i < count; i++) {
                running[delta.volumeIndex(i)].preserve(delta.offset(i), delta.length(i));
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("group {}: the drill's clones cannot preserve what replication overwrites ({}); they are"
                    + " closed, stop the drill and start it again", group, e.toString());
            broken = true;
            closeClones(running);
        }
    }

    /**
     * Stops the drill: the clones are closed and their scratch files deleted. Applier thread, or
     * any thread once the applier is stopped.
     *
     * @return false when no drill was running
     */
    public boolean stop() {
        DrillVolume[] running = clones;
        if (running == null) {
            return false;
        }
        clones = null;
        closeClones(running);
        if (io != null) {
            io.close();
            io = null;
        }
        return true;
    }

    /** Whether a drill runs. */
    public boolean drilling() {
        return clones != null;
    }

    /** The seq the running drill's clones show (meaningful while {@link #drilling()}). */
    public long drillSeq() {
        return drillSeq;
    }

    /** Scratch bytes the running drill holds (0 without a drill). */
    public long scratchBytes() {
        DrillVolume[] running = clones;
        long total = 0;
        if (running != null) {
            for (DrillVolume clone : running) {
                total += clone.scratchBytes();
            }
        }
        return total;
    }

    private static UndoLog.Target target(DrillVolume[] clones) {
        return new UndoLog.Target() {
            @Override
            public void write(int volume, long offset, ByteBuffer data) throws IOException {
                clones[volume].restore(offset, data);
            }

            @Override
            public void zero(int volume, long offset, long length) throws IOException {
                clones[volume].restoreZeroes(offset, length);
            }
        };
    }

    private void closeClones(DrillVolume[] toClose) {
        for (DrillVolume clone : toClose) {
            if (clone != null) {
                try {
                    clone.close();
                } catch (IOException | RuntimeException e) {
                    LOG.warn("group {}: cannot delete drill scratch {}: {}", group, clone.scratchPath(), e.toString());
                }
            }
        }
    }
}
