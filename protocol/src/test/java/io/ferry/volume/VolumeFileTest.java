package io.ferry.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeFileTest {
    private static final long SIZE = 16L << 20;

    @TempDir
    Path dir;

    @Test
    void shouldCreateAMissingFileSparseAtItsSizeAndRefuseAnExistingOneOfAnotherSize() throws Exception {
        Path path = dir.resolve("v.img");
        try (VolumeFile file = VolumeFile.openOrCreate(path, SIZE)) {
            assertThat(file.sizeBytes()).isEqualTo(SIZE);
        }
        assertThat(Files.size(path)).isEqualTo(SIZE);
        assertThatThrownBy(() -> VolumeFile.openOrCreate(path, SIZE * 2))
                .isInstanceOf(IOException.class).hasMessageContaining("configured size");
    }

    @Test
    void shouldReadZeroesAfterZeroingUnalignedRangesAndReportTheHoles() throws Exception {
        try (VolumeFile file = VolumeFile.openOrCreate(dir.resolve("v.img"), SIZE)) {
            byte[] ones = new byte[4 << 20];
            Arrays.fill(ones, (byte) 1);
            file.write(0, ByteBuffer.wrap(ones));
            file.zero(1000, (2 << 20) + 5000);

            ByteBuffer back = ByteBuffer.allocate(4 << 20);
            file.read(0, back);
            byte[] expected = ones.clone();
            Arrays.fill(expected, 1000, 1000 + (2 << 20) + 5000, (byte) 0);
            assertThat(back.array()).isEqualTo(expected);

            List<long[]> runs = new ArrayList<>();
            file.allocation(0, SIZE, 100, (length, hole) -> runs.add(new long[] {length, hole ? 1 : 0}));
            assertThat(runs.stream().mapToLong(r -> r[0]).sum()).isEqualTo(SIZE);
            assertThat(runs.get(0)[1]).as("data first").isZero();
            assertThat(runs.get(runs.size() - 1)[1]).as("untouched tail is a hole").isEqualTo(1);
            if (file.punchesHoles()) {
                assertThat(runs).as("a hole punched in the middle of the data").hasSizeGreaterThanOrEqualTo(4);
            }
        }
    }
}
