package io.ferry.agent.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;

/**
 * A consistency group's data-generation id (DRBD's UUIDs): random, non-zero, created with the
 * group and kept in {@code <dataDir>/state/<group>.generation}, so the receiver can tell this
 * group's stream from another that reuses its name, and failback can tell which side is newer.
 */
public final class Generation {
    private Generation() {
    }

    public static long loadOrCreate(Path dataDir, String group) throws IOException {
        Path dir = Files.createDirectories(dataDir.resolve("state"));
        Path file = dir.resolve(group + ".generation");
        if (Files.exists(file)) {
            String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
            try {
                return Long.parseUnsignedLong(text, 16);
            } catch (NumberFormatException e) {
                throw new IOException("generation file " + file + " is corrupt ('" + text + "'); restore it or remove the group's state", e);
            }
        }
        long id = 0;
        SecureRandom random = new SecureRandom();
        while (id == 0) {
            id = random.nextLong();
        }
        Path tmp = dir.resolve(group + ".generation.tmp");
        Files.writeString(tmp, Long.toHexString(id) + "\n", StandardCharsets.US_ASCII);
        try (var channel = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        return id;
    }
}
