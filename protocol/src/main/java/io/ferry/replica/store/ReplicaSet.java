package io.ferry.replica.store;

import io.ferry.daemon.PrivateFiles;
import io.ferry.daemon.StateFiles;
import io.ferry.config.Names;
import io.ferry.delta.DeltaFormat;
import io.ferry.replica.undo.UndoLog;
import io.ferry.volume.VolumeFile;
import io.ferry.wire.VolumeInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The replica images of one group, {@code <dataDir>/replicas/<group>/<volume>.img} (raw,
 * sparse), in volume index (HELLO) order, and the list of volumes persisted in the group's state.
 *
 * <p>Threads: {@link #attach} runs on a session's attach thread (off the event loop) and is
 * serialised; {@link #files()} is a published array any thread reads; only the group's applier
 * writes through the files (and a promote's rollback, which runs on the applier too).
 */
public final class ReplicaSet implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ReplicaSet.class);
    private static final VolumeFile[] NONE = new VolumeFile[0];

    private final Path dataDir;
    private final String group;
    private final GroupStateStore state;
    private final StateFiles stateFiles;
    private final Object attachLock = new Object();
    private volatile VolumeFile[] files;
    private boolean closed; // guarded by attachLock

    private ReplicaSet(Path dataDir, String group, GroupStateStore state, StateFiles stateFiles, VolumeFile[] files) {
        this.dataDir = dataDir;
        this.group = group;
        this.state = state;
        this.stateFiles = stateFiles;
        this.files = files;
    }

    /**
     * Creates, empty and sparse, the image of every volume in {@code volumes} whose file is
     * missing (lost or moved away by the operator), logging each; true if there was one.
     */
    static boolean recreateMissing(Path dataDir, String group, List<VolumeInfo> volumes) throws IOException {
        boolean any = false;
        for (VolumeInfo volume : volumes) {
            Path path = replicaPath(dataDir, group, volume.name());
            if (!Files.exists(path)) {
                PrivateFiles.directories(path.getParent());
                VolumeFile.openOrCreate(path, volume.sizeBytes()).close();
                LOG.warn("group {}: replica image {} of volume {} was missing; it is made anew, empty, and the agent"
                        + " syncs it", group, path, volume.name());
                any = true;
            }
        }
        return any;
    }

    /**
     * Opens the images of the volumes the state lists.
     *
     * @throws IOException if an image is missing or has another size
     */
    static ReplicaSet open(Path dataDir, String group, GroupStateStore state, StateFiles stateFiles)
            throws IOException {
        List<VolumeFile> opened = new ArrayList<>();
        try {
            for (VolumeInfo volume : state.current().volumes()) {
                Path path = replicaPath(dataDir, group, volume.name());
                if (!Files.exists(path)) {
                    throw new IOException("group " + group + ": replica image " + path + " of volume " + volume.name()
                            + " is missing; restore it or move the group's directories aside and let the group resync");
                }
                opened.add(VolumeFile.openOrCreate(path, volume.sizeBytes()));
            }
        } catch (IOException | RuntimeException e) {
            closeAll(opened);
            throw e;
        }
        return new ReplicaSet(dataDir, group, state, stateFiles, opened.toArray(NONE));
    }

    /** The replicas by volume index; empty before the first {@link #attach} and after {@link #close}. */
    public VolumeFile[] files() {
        return files;
    }

    /** Whether no replica holds any data (every one a hole end to end, or reading as zeroes). */
    public boolean empty() throws IOException {
        for (VolumeFile file : files) {
            if (!file.holdsNoData()) {
                return false;
            }
        }
        return true;
    }

    /** The attached volumes in HELLO order; empty before the first {@link #attach}. Lock-free. */
    public List<VolumeInfo> volumes() {
        return state.current().volumes();
    }

    /** {@code <dataDir>/replicas/<group>/<volume>.img} (whether or not it exists yet). */
    public Path replicaPath(String volume) {
        return replicaPath(dataDir, group, volume);
    }

    static Path replicaPath(Path dataDir, String group, String volume) {
        return dataDir.resolve("replicas").resolve(group).resolve(Names.check("volume", volume) + ".img");
    }

    /**
     * Attaches the volumes the agent announced in HELLO. The first call creates each image sparse
     * at its size, syncs the files and their directory and persists the list; later calls must
     * announce exactly the same list (names, order, sizes).
     *
     * @throws IllegalStateException naming the difference when the list does not match, or when closed
     * @throws IllegalArgumentException for an empty list or a duplicate volume name
     * @throws IOException if an image cannot be created
     */
    void attach(List<VolumeInfo> volumes) throws IOException {
        Objects.requireNonNull(volumes, "volumes");
        synchronized (attachLock) {
            if (closed) {
                throw new IllegalStateException("group " + group + " is closed");
            }
            List<VolumeInfo> attached = volumes();
            if (!attached.isEmpty()) {
                String difference = difference(attached, volumes);
                if (difference != null) {
                    throw new IllegalStateException("group " + group + ": the agent announces volumes "
                            + describe(volumes) + " but the replicas were created for " + describe(attached) + ": "
                            + difference + ". A group's volumes cannot change; create a new group for other volumes.");
                }
                return;
            }
            checkNewVolumes(volumes);
            Path dir = dataDir.resolve("replicas").resolve(group);
            PrivateFiles.directories(dir);
            List<VolumeFile> created = new ArrayList<>();
            try {
                for (VolumeInfo volume : volumes) {
                    VolumeFile file = VolumeFile.openOrCreate(dir.resolve(volume.name() + ".img"), volume.sizeBytes());
                    created.add(file);
                    file.force();
                }
                stateFiles.forceDirectory(dir);
                stateFiles.forceDirectory(dir.getParent());
                state.update(s -> s.withVolumes(volumes));
            } catch (IOException | RuntimeException e) {
                closeAll(created);
                throw e;
            }
            files = created.toArray(NONE);
        }
    }

    /** Syncs every replica. */
    void force() throws IOException {
        for (VolumeFile file : files) {
            file.force();
        }
    }

    private void checkNewVolumes(List<VolumeInfo> volumes) {
        if (volumes.isEmpty()) {
            throw new IllegalArgumentException("group " + group + ": the agent announces no volumes; a group needs at"
                    + " least one");
        }
        if (volumes.size() > DeltaFormat.MAX_VOLUME_INDEX + 1) {
            throw new IllegalArgumentException("group " + group + ": " + volumes.size() + " volumes announced, at most "
                    + (DeltaFormat.MAX_VOLUME_INDEX + 1) + " fit in a DELTA");
        }
        Set<String> names = new HashSet<>();
        for (VolumeInfo volume : volumes) {
            if (!names.add(volume.name())) {
                throw new IllegalArgumentException("group " + group + ": volume \"" + volume.name()
                        + "\" is announced twice");
            }
        }
    }

    private static String difference(List<VolumeInfo> attached, List<VolumeInfo> announced) {
        for (int i = 0; i < Math.min(attached.size(), announced.size()); i++) {
            VolumeInfo a = attached.get(i);
            VolumeInfo b = announced.get(i);
            if (!a.name().equals(b.name())) {
                return "volume " + i + " is \"" + b.name() + "\", expected \"" + a.name() + "\"";
            }
            if (a.sizeBytes() != b.sizeBytes()) {
                return "volume \"" + a.name() + "\" is " + b.sizeBytes() + " bytes, expected " + a.sizeBytes();
            }
        }
        if (attached.size() != announced.size()) {
            return announced.size() + " volumes announced, expected " + attached.size();
        }
        return null;
    }

    private static String describe(List<VolumeInfo> volumes) {
        StringBuilder sb = new StringBuilder("[");
        for (VolumeInfo v : volumes) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(v.name()).append(" (").append(v.sizeBytes()).append(" bytes)");
        }
        return sb.append(']').toString();
    }

    /** An undo target that writes pre-images back to these replicas (a promote's rollback). */
    UndoLog.Target rollbackTarget() {
        return rollbackTarget(files);
    }

    /** Writes pre-images back to {@code files}. */
    static UndoLog.Target rollbackTarget(VolumeFile[] files) {
        return new UndoLog.Target() {
            @Override
            public void write(int volume, long offset, ByteBuffer data) throws IOException {
                files[volume].write(offset, data);
            }

            @Override
            public void zero(int volume, long offset, long length) throws IOException {
                files[volume].zero(offset, length);
            }
        };
    }

    /** Closes the images. Idempotent. */
    @Override
    public void close() {
        VolumeFile[] toClose;
        synchronized (attachLock) {
            closed = true;
            toClose = files;
            files = NONE;
        }
        RuntimeException failure = null;
        for (VolumeFile file : toClose) {
            try {
                file.close();
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static void closeAll(List<VolumeFile> files) {
        for (VolumeFile file : files) {
            try {
                file.close();
            } catch (RuntimeException ignored) {
                // the failure being reported matters more
            }
        }
    }
}
