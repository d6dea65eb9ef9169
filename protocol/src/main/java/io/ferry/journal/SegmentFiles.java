package io.ferry.journal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * What is left of the journal segment helpers now that every log lives on the engine in
 * {@code io.ferry.log}: deleting a directory tree (the receiver's drill clones use it).
 */
public final class SegmentFiles {
    private SegmentFiles() {
    }

    /** Deletes {@code root} and everything below it; nothing if it does not exist. */
    public static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
