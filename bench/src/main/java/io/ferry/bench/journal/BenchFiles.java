package io.ferry.bench.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/** What the journal benchmarks share: their directory (under {@code -Dferry.bench.dir}) and their data. */
final class BenchFiles {
    private BenchFiles() {
    }

    /** A new directory under {@code -Dferry.bench.dir} (default: java.io.tmpdir). */
    static Path newDirectory(String prefix) throws IOException {
        Path base = Paths.get(System.getProperty("ferry.bench.dir", System.getProperty("java.io.tmpdir")));
        return Files.createTempDirectory(base, prefix);
    }

    /** A direct buffer of {@code bytes} random (incompressible) bytes, position 0. */
    static ByteBuffer randomData(int bytes) {
        byte[] random = new byte[bytes];
        ThreadLocalRandom.current().nextBytes(random);
        return ByteBuffer.allocateDirect(bytes).put(random).flip();
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
