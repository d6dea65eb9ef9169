package io.ferry.capture.state;

import io.ferry.daemon.PrivateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * A consistency group's data-generation id (DRBD's UUIDs): random, non-zero, created with the
 * group and kept in its {@link GroupStateFile} ({@code <dataDir>/state/<group>.json}), so the
 * receiver can tell this group's stream from another that reuses its name, and failback can tell
 * which side is newer.
 *
 * <p>An agent of the earlier format kept the id alone, as hex, in
 * {@code <dataDir>/state/<group>.generation}: when there is no state file yet, that id is read
 * and carried into a new state file (the old file is left as it was, so an older agent still
 * reads it).
 */
public final class Generation {

    static final String LEGACY_SUFFIX = ".generation";

    private Generation() {
    }

    /** A group's generation id and whether its journal rebuilds its volumes from seq 1. */
    public record Identity(long generationId, boolean journalCoversVolumes) {
    }

    public static long loadOrCreate(Path dataDir, String group) throws IOException {
        return loadOrCreate(dataDir, group, () -> false).generationId();
    }

    /**
     * The group's identity; a new one is created when the group has no state yet, with
     * {@code coversVolumesIfNew} telling whether the journal rebuilds the volumes (asked only then).
     */
    public static Identity loadOrCreate(Path dataDir, String group, IoBooleanSupplier coversVolumesIfNew)
            throws IOException {
        return loadOrCreate(dataDir, group, 0, coversVolumesIfNew);
    }

    /**
     * As above; a group without state starts with {@code idIfNew} (the DR site's capture of a
     * promoted group takes the promote's generation), or a random id when it is 0.
     */
    public static Identity loadOrCreate(Path dataDir, String group, long idIfNew, IoBooleanSupplier coversVolumesIfNew)
            throws IOException {
        Path dir = PrivateFiles.directories(dataDir.resolve("state"));
        GroupStateFile state = GroupStateFile.read(dir, group);
        if (state != null) {
            return new Identity(state.generationId(), state.coversVolumes());
        }
        long id = idIfNew != 0 ? idIfNew : legacy(dir.resolve(group + LEGACY_SUFFIX));
        // an id carried over from the earlier format has a history this agent cannot vouch for
        boolean covers = (id == 0 || id == idIfNew) && coversVolumesIfNew.getAsBoolean();
        if (id == 0) {
            SecureRandom random = new SecureRandom();
            while (id == 0) {
                id = random.nextLong();
            }
        }
        GroupStateFile.of(group, id, covers).write(dir);
        return new Identity(id, covers);
    }

    /** A boolean that may take I/O to find out. */
    @FunctionalInterface
    public interface IoBooleanSupplier {
        boolean getAsBoolean() throws IOException;
    }

    /** The id in a file of the earlier format, or 0 when there is none. */
    private static long legacy(Path file) throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
        try {
            long id = Long.parseUnsignedLong(text, 16);
            if (id == 0) {
                throw new NumberFormatException("zero");
            }
            return id;
        } catch (NumberFormatException e) {
            throw new IOException("generation file " + file + " is corrupt ('" + text + "'); restore it or remove the group's state", e);
        }
    }
}
