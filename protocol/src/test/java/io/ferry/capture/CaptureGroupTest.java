package io.ferry.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.capture.nbd.CapturedVolume;
import io.ferry.time.EpochNanoClock;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaptureGroupTest {
    private static final long SIZE = 1 << 20;

    @TempDir
    Path dir;

    private List<CaptureGroup.Volume> volumes() {
        return List.of(new CaptureGroup.Volume("a", dir.resolve("a.img"), SIZE),
                new CaptureGroup.Volume("b", dir.resolve("b.img"), SIZE));
    }

    @Test
    void shouldJournalAndWriteWhatItsExportsTakeAndKeepItAcrossAReopen() throws Exception {
        try (CaptureGroup group = CaptureGroup.open("g", dir.resolve("journal"), volumes(), EpochNanoClock.system(), 64)) {
            assertThat(group.exports()).extracting(CapturedVolume::name).containsExactly("a", "b");
            CompletableFuture<Integer> written = new CompletableFuture<>();
            group.exports().get(1).write(4096, Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4}), true, written::complete);
            assertThat(written.get(30, TimeUnit.SECONDS)).isZero();
            assertThat(group.pipeline().capturedSeq()).isEqualTo(1);
            ByteBuffer back = ByteBuffer.allocate(4);
            group.files().get(1).read(4096, back);
            assertThat(back.array()).containsExactly(1, 2, 3, 4);
        }
        try (CaptureGroup reopened = CaptureGroup.open("g", dir.resolve("journal"), volumes(), EpochNanoClock.system(), 64)) {
            assertThat(reopened.journal().lastSeq()).isEqualTo(1);
        }
    }

    @Test
    void shouldCloseWhatItOpenedWhenAVolumeCannotBeOpened() throws Exception {
        Files.write(dir.resolve("b.img"), new byte[4096]); // not the configured size
        assertThatThrownBy(() -> CaptureGroup.open("g", dir.resolve("journal"), volumes(), EpochNanoClock.system(), 64))
                .isInstanceOf(IOException.class).hasMessageContaining("b.img");
        Files.delete(dir.resolve("b.img"));
        // the journal was closed again, so the group opens now
        try (CaptureGroup group = CaptureGroup.open("g", dir.resolve("journal"), volumes(), EpochNanoClock.system(), 64)) {
            assertThat(group.journal().lastSeq()).isZero();
        }
    }
}
