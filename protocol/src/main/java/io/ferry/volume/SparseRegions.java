package io.ferry.volume;

import java.io.IOException;
import java.nio.file.Path;
import net.openhft.posix.OpenFlag;
import net.openhft.posix.PosixAPI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What java.nio cannot do with a sparse volume file: punch holes (fallocate PUNCH_HOLE, so a
 * TRIM or WRITE_ZEROES of gigabytes costs no data writes) and find them (lseek SEEK_DATA /
 * SEEK_HOLE, for NBD's base:allocation). Holds its own descriptor of the file; positional calls
 * only, so it is thread-safe.
 */
final class SparseRegions implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SparseRegions.class);
    private static final int FALLOC_FL_KEEP_SIZE = 0x01;
    private static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int ENXIO = 6;

    private final PosixAPI posix;
    private final Path path;
    private final int fd;
    private volatile boolean canPunch = true;

    private SparseRegions(PosixAPI posix, Path path, int fd) {
        this.posix = posix;
        this.path = path;
        this.fd = fd;
    }

    /** Null when the platform binding is unavailable: callers then write zeroes and report all data. */
    static SparseRegions open(Path path, boolean readOnly) {
        try {
            PosixAPI posix = PosixAPI.posix();
            int fd = posix.open(path.toString(), readOnly ? OpenFlag.O_RDONLY : OpenFlag.O_RDWR, 0);
            if (fd < 0) {
                LOG.warn("{}: cannot open for hole punching ({}); zeroing writes zeroes", path, posix.lastErrorStr());
                return null;
            }
            return new SparseRegions(posix, path, fd);
        } catch (LinkageError | RuntimeException e) {
            LOG.warn("{}: no POSIX binding ({}); zeroing writes zeroes", path, e.toString());
            return null;
        }
    }

    /**
     * Deallocates {@code [offset, offset + length)}, which then reads back as zeroes. Returns
     * false when the file system cannot punch holes (the caller writes zeroes instead).
     */
    boolean punchHole(long offset, long length) {
        if (!canPunch) {
            return false;
        }
        if (posix.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) == 0) {
            return true;
        }
        canPunch = false;
        LOG.warn("{}: fallocate(PUNCH_HOLE) failed ({}); zeroing writes zeroes from now on", path, posix.lastErrorStr());
        return false;
    }

    boolean canPunch() {
        return canPunch;
    }

    /**
     * Start of the first data at or after {@code offset}, or {@code end} when only a hole
     * follows; -1 when the file system cannot tell (treat everything as data).
     */
    long nextData(long offset, long end) {
        long found = posix.lseek(fd, offset, SEEK_DATA);
        if (found < 0) {
            return posix.lastError() == ENXIO ? end : -1;
        }
        return Math.min(found, end);
    }

    /** Start of the first hole at or after {@code offset} (the file end counts as one), capped at {@code end}. */
    long nextHole(long offset, long end) {
        long found = posix.lseek(fd, offset, SEEK_HOLE);
        return found < 0 ? end : Math.min(found, end);
    }

    @Override
    public void close() {
        posix.close(fd);
    }
}
