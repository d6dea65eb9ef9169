package io.ferry.daemon;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * How a group's small state files ({@code state.json}, {@code points.json}) and its replica
 * directory reach the disk durably. {@link #DURABLE} is the daemon's; tests substitute one that
 * fails or stalls to prove that no event loop waits on these syncs.
 *
 * <p>Called only on the threads that own the group's state (its applier, the session's attach
 * thread, the API thread of a promote), never on an event loop.
 */
public interface StateFiles {

    /**
     * Writes {@code bytes} to a temp file beside {@code file}, fsyncs it, renames it over
     * {@code file} and fsyncs the directory: after a crash the file is either the old or the new one.
     */
    void writeAtomically(Path file, byte[] bytes) throws IOException;

    /** Fsyncs a directory, so that the entries created in it survive a crash. */
    void forceDirectory(Path dir) throws IOException;

    /** The real thing: temp file, fsync, atomic rename, directory fsync. */
    StateFiles DURABLE = new StateFiles() {
        @Override
        public void writeAtomically(Path file, byte[] bytes) throws IOException {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp); // a leftover may have wider permissions than a new file gets
            try (FileChannel channel = FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE), PrivateFiles.fileAttribute())) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            forceDirectory(file.getParent());
        }

        @Override
        public void forceDirectory(Path dir) throws IOException {
            try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
                channel.force(true);
            }
        }
    };
}
