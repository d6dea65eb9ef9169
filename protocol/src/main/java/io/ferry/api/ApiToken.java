package io.ferry.api;

import io.ferry.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * The management API's bearer token: the content of {@code <dataDir>/api.token}.
 *
 * <p>On first start the file is created with 32 random bytes from {@link SecureRandom},
 * hex-encoded, mode 0600 from the moment it exists (a private temporary file is written, synced
 * and then hard-linked into place, so no other process ever sees it half written or readable by
 * others). Later starts reuse it.
 *
 * <p>An existing token file that group or others may read or write is refused rather than
 * tightened: whoever could read it may already hold the token, so silently narrowing the mode
 * would hide a leak. The operator fixes the mode ({@code chmod 600}) or deletes the file to get a
 * new token; the message says both. The same goes for a symbolic link or a file that is not a
 * regular file.
 */
public final class ApiToken {

    /** The file name inside the daemon's data directory. */
    public static final String FILE_NAME = "api.token";

    static final int TOKEN_BYTES = 32;
    static final int MIN_TOKEN_CHARS = 16;
    static final int MAX_TOKEN_CHARS = 1024;

    private static final Set<PosixFilePermission> OWNER_READ_WRITE =
            EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private ApiToken() {
    }

    /**
     * Returns the token in {@code <dataDir>/api.token}, creating the file (mode 0600) if it does not
     * exist. {@code dataDir} must exist.
     *
     * @throws ConfigException when the existing file is readable or writable by group or others, is
     *                         not a regular file, or does not hold a usable token (the message names
     *                         the file and the fix)
     * @throws UncheckedIOException when the file cannot be read or created
     */
    public static String loadOrCreate(Path dataDir) {
        Path file = dataDir.resolve(FILE_NAME);
        try {
            try {
                return read(file);
            } catch (NoSuchFileException absent) {
                return create(dataDir, file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load or create the API token " + file + ": " + e, e);
        }
    }

    /**
     * Compares a presented token with the expected one in time that does not depend on where they
     * differ (only on the presented length), so the token cannot be guessed byte by byte.
     */
    public static boolean matches(String expected, String presented) {
        if (expected == null || presented == null) {
            return false;
        }
        return MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                presented.getBytes(StandardCharsets.UTF_8));
    }

    private static String read(Path file) throws IOException {
        PosixFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
            throw ConfigException.ofFile(file, "the API token needs a file system with POSIX permissions", e);
        }
        if (!attributes.isRegularFile()) {
            throw ConfigException.ofFile(file, "the API token must be a regular file (not a link or directory); "
                    + "remove it and restart to create a new token", null);
        }
        Set<PosixFilePermission> wide = EnumSet.copyOf(attributes.permissions());
        wide.retainAll(GROUP_OR_OTHERS);
        if (!wide.isEmpty()) {
            throw ConfigException.ofFile(file, "the API token is accessible by group or others (mode "
                    + PosixFilePermissions.toString(attributes.permissions()) + "); anyone who read it holds the "
                    + "token. Run 'chmod 600 " + file + "' to keep it, or delete the file to get a new token "
                    + "on the next start", null);
        }
        String token = Files.readString(file, StandardCharsets.US_ASCII).trim();
        if (!isUsable(token)) {
            throw ConfigException.ofFile(file, "the API token must be " + MIN_TOKEN_CHARS + " to " + MAX_TOKEN_CHARS
                    + " visible ASCII characters without spaces; delete the file to get a new token on the next start",
                    null);
        }
        return token;
    }

    private static String create(Path dataDir, Path file) throws IOException {
        byte[] random = new byte[TOKEN_BYTES];
        new SecureRandom().nextBytes(random);
        String token = HexFormat.of().formatHex(random);

        Path temp = Files.createTempFile(dataDir, "." + FILE_NAME + ".", ".tmp",
                PosixFilePermissions.asFileAttribute(OWNER_READ_WRITE));
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer bytes = ByteBuffer.wrap((token + "\n").getBytes(StandardCharsets.US_ASCII));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            try {
                Files.createLink(file, temp);
            } catch (FileAlreadyExistsException raced) {
                return read(file);
            }
            syncDirectory(dataDir);
            return token;
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // some file systems cannot sync a directory; a token lost in a crash is created anew
        }
    }

    static boolean isUsable(String token) {
        if (token.length() < MIN_TOKEN_CHARS || token.length() > MAX_TOKEN_CHARS) {
            return false;
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c <= ' ' || c > '~') {
                return false;
            }
        }
        return true;
    }
}
