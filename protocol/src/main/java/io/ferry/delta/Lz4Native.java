package io.ferry.delta;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.util.Native;
import net.jpountz.xxhash.XXHashFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place ferry takes its LZ4 and xxHash factories from.
 *
 * <p>lz4-java on its own unpacks its JNI library into {@code java.io.tmpdir} at every JVM start
 * and deletes it only when the JVM exits normally, so every kill -9 (a crash, a test) leaves a
 * copy behind. Here the library is unpacked into a private directory, loaded, and deleted at once
 * (a loaded shared object stays mapped on Linux), and lz4-java is told it is loaded, so nothing
 * is left in the temp directory whatever way the JVM ends. Where that fails (an unknown
 * platform, a changed lz4-java) lz4-java's own loading runs as before, with a log line.
 */
public final class Lz4Native {
    private static final Logger LOG = LoggerFactory.getLogger(Lz4Native.class);
    private static final LZ4Factory LZ4;
    private static final XXHashFactory XXHASH;

    static {
        preload();
        LZ4 = LZ4Factory.fastestInstance();
        XXHASH = XXHashFactory.fastestInstance();
    }

    private Lz4Native() {
    }

    public static LZ4Factory lz4() {
        return LZ4;
    }

    public static XXHashFactory xxhash() {
        return XXHASH;
    }

    /** True when the JNI implementation is in use (and false on the pure-Java fallback). */
    public static boolean isNative() {
        return Native.isLoaded();
    }

    private static void preload() {
        String resource = resourceName();
        if (resource == null || Native.isLoaded()) {
            return;
        }
        try (InputStream in = Native.class.getResourceAsStream(resource)) {
            if (in == null) {
                return; // lz4-java falls back to its Java implementation
            }
            Path dir = Files.createTempDirectory("ferry-lz4-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path lib = dir.resolve("liblz4-java.so");
            try {
                Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
                System.load(lib.toAbsolutePath().toString());
            } finally {
                Files.deleteIfExists(lib);
                Files.deleteIfExists(dir);
            }
            Field loaded = Native.class.getDeclaredField("loaded");
            loaded.setAccessible(true);
            synchronized (Native.class) { // Native's own methods synchronize on the class
                loaded.setBoolean(null, true);
            }
        } catch (IOException | ReflectiveOperationException | RuntimeException | UnsatisfiedLinkError e) {
            LOG.warn("lz4-java's JNI library could not be preloaded ({}); lz4-java loads it itself and may leave "
                    + "a copy in {} after a kill -9", e.toString(), System.getProperty("java.io.tmpdir"));
        }
    }

    /** lz4-java's resource path for this platform, or null where ferry does not preload. */
    private static String resourceName() {
        if (!System.getProperty("os.name", "").contains("Linux")) {
            return null;
        }
        String arch = System.getProperty("os.arch", "");
        if (arch.equals("x86_64")) {
            arch = "amd64";
        }
        return "/net/jpountz/util/linux/" + arch + "/liblz4-java.so";
    }
}
