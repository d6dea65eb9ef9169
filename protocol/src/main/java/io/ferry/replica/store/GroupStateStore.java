package io.ferry.replica.store;

import io.ferry.daemon.PrivateFiles;
import io.ferry.daemon.StateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;

/**
 * Holds a group's {@link GroupState}: the snapshot last written to {@code state.json}, published
 * through a volatile reference only after it is on disk, so any thread (an event loop included)
 * reads it lock-free and never sees a state that a crash could take back.
 *
 * <p>Changes come from the group's applier (applied seq, promote), the session's attach thread
 * (volumes) and a promote; they are serialised on a lock that no event loop ever takes, held
 * across the write and its syncs.
 */
final class GroupStateStore {
    private final Path file;
    private final StateFiles files;
    private final ReentrantLock writeLock = new ReentrantLock();
    private volatile GroupState current;

    private GroupStateStore(Path file, StateFiles files, GroupState current) {
        this.file = file;
        this.files = files;
        this.current = current;
    }

    /** Reads the state in {@code dir}, or creates and persists a new one with a random generation id. */
    static GroupStateStore loadOrCreate(Path dir, String group, long nowEpochNanos, StateFiles files)
            throws IOException {
        PrivateFiles.directories(dir);
        Path file = dir.resolve(GroupState.FILE);
        try {
            return new GroupStateStore(file, files, GroupState.read(file, group));
        } catch (NoSuchFileException e) {
            GroupState state = GroupState.create(group, nowEpochNanos);
            files.writeAtomically(file, state.toJson());
            return new GroupStateStore(file, files, state);
        }
    }

    /** The last state on disk. Any thread, lock-free. */
    GroupState current() {
        return current;
    }

    /**
     * Writes {@code change} of the current state durably, then publishes it; on a failed write
     * the published state stays the old one.
     *
     * @return the new state
     */
    GroupState update(UnaryOperator<GroupState> change) throws IOException {
        writeLock.lock();
        try {
            GroupState next = change.apply(current);
            files.writeAtomically(file, next.toJson());
            current = next;
            return next;
        } finally {
            writeLock.unlock();
        }
    }

    /** Writes {@code state} to {@code file} as the daemon would (for tests that stage a crash). */
    static void write(Path file, GroupState state) throws IOException {
        StateFiles.DURABLE.writeAtomically(file, state.toJson());
    }
}
