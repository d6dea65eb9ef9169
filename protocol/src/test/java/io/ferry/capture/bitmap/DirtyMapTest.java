package io.ferry.capture.bitmap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirtyMapTest {
    private static final long SIZE = 64L << 20;
    private static final int B = DirtyMap.BLOCK_BYTES;

    @TempDir
    Path dir;

    @Test
    void shouldMarkWholeBlocksCountThemAndListThemAsRuns() throws IOException {
        try (DirtyMap map = DirtyMap.open(dir, "db", List.of(SIZE, SIZE))) {
            map.mark(0, 100, 10);              // inside block 0
            map.mark(0, 3 * B - 1, 2);         // blocks 2 and 3
            map.mark(1, 10L * B, 64L * B + 1); // blocks 10..74 of volume 1
            assertThat(map.dirtyBytes()).isEqualTo((3 + 65) * (long) B);
            List<long[]> runs = new ArrayList<>();
            map.forEachRun(0, 0, SIZE, (at, length) -> runs.add(new long[] {at, length}));
            assertThat(runs).containsExactly(new long[] {0, B}, new long[] {2L * B, 2L * B});
            assertThat(map.nextMarked(1, 0)).isEqualTo(10L * B);
            assertThat(map.nextMarked(1, 75L * B)).isEqualTo(-1);
            assertThat(map.markedBytes(1, 0, 20L * B)).isEqualTo(10L * B);
            List<long[]> clipped = new ArrayList<>();
            map.forEachRun(1, 12L * B + 5, 14L * B, (at, length) -> clipped.add(new long[] {at, length}));
            assertThat(clipped).containsExactly(new long[] {12L * B + 5, 2L * B - 5});
        }
    }

    @Test
    void shouldKeepEveryMarkAcrossAReopenAsTheFileHoldsThemWithoutAnExplicitSave() throws IOException {
        Random random = new Random(5);
        TreeSet<Long> expected = new TreeSet<>();
        DirtyMap map = DirtyMap.open(dir, "db", List.of(SIZE));
        for (int i = 0; i < 5000; i++) {
            long block = random.nextInt((int) (SIZE / B));
            map.mark(0, block * B, B);
            expected.add(block);
        }
        map.clear(map.epoch(), 0, 0, 1L << 20); // the first 256 blocks
        expected.removeIf(b -> b < 256);
        // no force, no close: what a kill -9 leaves is the mapped file as the page cache holds it
        Path copy = Files.copy(DirtyMap.path(dir, "db"),
                Files.createDirectories(dir.resolve("copy")).resolve("db.bitmap"));
        try (DirtyMap reopened = DirtyMap.open(copy.getParent(), "db", List.of(SIZE))) {
            TreeSet<Long> found = new TreeSet<>();
            reopened.forEachRun(0, 0, SIZE, (at, length) -> {
                for (long b = at / B; b < (at + length) / B; b++) {
                    found.add(b);
                }
            });
            assertThat(found).isEqualTo(expected);
            assertThat(reopened.dirtyBytes()).isEqualTo(expected.size() * (long) B);
        }
        map.close();
    }

    @Test
    void shouldRefuseAClearFromBeforeARefold() throws IOException {
        try (DirtyMap map = DirtyMap.open(dir, "db", List.of(SIZE))) {
            map.mark(0, 0, 8L * B);
            long before = map.epoch();
            map.refold();
            map.mark(0, 4L * B, B);
            assertThat(map.clear(before, 0, 0, 8L * B)).isFalse();
            assertThat(map.clearAll(before)).isFalse();
            assertThat(map.dirtyBytes()).isEqualTo(8L * B);
            assertThat(map.clear(map.epoch(), 0, 0, 8L * B)).isTrue();
            assertThat(map.isEmpty()).isTrue();
        }
    }

    @Test
    void shouldBePrivateAndRefuseAFileMadeForOtherVolumes() throws IOException {
        DirtyMap.open(dir, "db", List.of(SIZE, SIZE)).close();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(DirtyMap.path(dir, "db"))))
                .isEqualTo("rw-------");
        assertThatThrownBy(() -> DirtyMap.open(dir, "db", List.of(SIZE, 2 * SIZE)))
                .isInstanceOf(IOException.class).hasMessageContaining("other volumes");
        assertThatThrownBy(() -> DirtyMap.open(dir, "db", List.of(SIZE, SIZE + B)))
                .isInstanceOf(IOException.class).hasMessageContaining("other volume");
    }

    @Test
    void shouldTakeFileSpaceByVolumeSizeNotByWrites() throws IOException {
        try (DirtyMap map = DirtyMap.open(dir, "db", List.of(1L << 40))) {
            for (long at = 0; at < (1L << 40); at += 1L << 30) {
                map.mark(0, at, 1L << 20);
            }
            assertThat(Files.size(DirtyMap.path(dir, "db"))).isEqualTo(4096 + (1L << 40) / B / 8);
        }
    }
}
