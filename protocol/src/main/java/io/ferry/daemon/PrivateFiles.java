package io.ferry.daemon;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Files ferry creates hold other people's disks (volumes, replicas, journals, undo logs, state):
 * they are made readable by their owner alone, 0600, and their directories 0700, whatever the
 * umask. Permissions of files and directories that already exist are left as the operator set
 * them. On a file system without POSIX permissions the calls only create.
 */
public final class PrivateFiles {
    public static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
    public static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");

    private PrivateFiles() {
    }

    /** The attribute that creates a file 0600 (for {@code FileChannel.open} with CREATE or CREATE_NEW). */
    public static FileAttribute<Set<PosixFilePermission>> fileAttribute() {
        return PosixFilePermissions.asFileAttribute(FILE);
    }

    /** Creates {@code dir} and its missing parents, each new one 0700; returns {@code dir}. */
    public static Path directories(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath();
        if (Files.isDirectory(absolute)) {
            return dir;
        }
        Path parent = absolute.getParent();
        if (parent != null) {
            directories(parent);
        }
        try {
            Files.createDirectory(absolute, PosixFilePermissions.asFileAttribute(DIRECTORY));
            restrict(absolute, DIRECTORY); // the umask may have taken bits away, never added: set exactly
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(absolute)) {
                throw e;
            }
        } catch (UnsupportedOperationException e) {
            Files.createDirectories(absolute);
        }
        return dir;
    }

    /** Makes a file ferry just created 0600 (for files a library creates, such as the log engine's). */
    public static void restrict(Path file) throws IOException {
        restrict(file, FILE);
    }

    private static void restrict(Path path, Set<PosixFilePermission> permissions) throws IOException {
        try {
            Files.setPosixFilePermissions(path, permissions);
        } catch (UnsupportedOperationException e) {
            // no POSIX permissions here
        }
    }
}
