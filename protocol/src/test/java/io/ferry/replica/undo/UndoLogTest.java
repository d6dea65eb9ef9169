package io.ferry.replica.undo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UndoLogTest {
    private static final UndoLog.Options TINY = new UndoLog.Options(4096, 4096);

    @TempDir
    Path dir;

    /** Records the rollback's writes as "volume:offset:length:firstByte" or "zero volume:offset:length". */
    private static final class Recorder implements UndoLog.Target {
        final List<String> calls = new ArrayList<>();

        @Override
        public void write(int volume, long offset, ByteBuffer data) {
            calls.add(volume + ":" + offset + ":" + data.remaining() + ":" + data.get(data.position()));
        }

        @Override
        public void zero(int volume, long offset, long length) {
            calls.add("zero " + volume + ":" + offset + ":" + length);
        }
    }

    private static void preImage(UndoLog log, long first, long last, int volume, long offset, int length, byte value)
            throws IOException {
        log.begin(first, last);
        java.util.Random noise = new java.util.Random(first);
        log.addWrite(volume, offset, length, dst -> {
            dst.put(value); // the first byte tells the records apart; the rest does not compress
            while (dst.hasRemaining()) {
                dst.put((byte) noise.nextInt());
            }
        });
        log.addZero(volume, offset + length, 512);
        log.finish();
        log.sync();
    }

    @Test
    void shouldMoveSegmentsOfTheEarlierFormatAsideInsteadOfDeletingThem() throws IOException {
        java.nio.file.Files.createDirectories(dir);
        java.nio.file.Path old = java.nio.file.Files.write(dir.resolve("seg-0000000000000001.undo"), new byte[] {1, 2, 3});
        try (UndoLog log = UndoLog.open(dir, "g", 5, UndoLog.Options.defaults())) {
            assertThat(log.baseSeq()).isEqualTo(5);
        }
        assertThat(old).doesNotExist();
        java.nio.file.Path aside = dir.resolveSibling(dir.getFileName() + "-format1").resolve(old.getFileName());
        assertThat(aside).hasBinaryContent(new byte[] {1, 2, 3});
    }

    @Test
    void shouldRollBackNewestFirstAndStopAtTheTargetSeq() throws IOException {
        try (UndoLog log = UndoLog.open(dir, "g", 0, UndoLog.Options.defaults())) {
            preImage(log, 1, 3, 0, 0, 100, (byte) 1);
            preImage(log, 4, 6, 1, 4096, 200, (byte) 2);
            preImage(log, 7, 7, 0, 8192, 300, (byte) 3);
            assertThat(log.lastSeq()).isEqualTo(7);
            assertThat(log.baseSeq()).isZero();

            Recorder toSix = new Recorder();
            log.rollback(6, toSix);
            assertThat(toSix.calls).containsExactly("0:8192:300:3", "zero 0:8492:512");

            Recorder toZero = new Recorder();
            log.rollback(0, toZero);
            assertThat(toZero.calls).containsExactly("0:8192:300:3", "zero 0:8492:512", "1:4096:200:2",
                    "zero 1:4296:512", "0:0:100:1", "zero 0:100:512");
        }
    }

    @Test
    void shouldCutAPreImageTornByACrashAndGoOnAfterTheLastWholeOne() throws IOException {
        try (UndoLog log = UndoLog.open(dir, "g", 0, TINY)) {
            preImage(log, 1, 3, 0, 0, 100, (byte) 1);
            log.begin(4, 6);
            // 4096 bytes fill a record of TINY: a part record is written, the FINAL one never is.
            log.addWrite(0, 0, 4096, dst -> dst.put(new byte[4096]));
            log.sync();
        }

        try (UndoLog reopened = UndoLog.open(dir, "g", 3, TINY)) {
            assertThat(reopened.lastSeq()).isEqualTo(3);
            preImage(reopened, 4, 6, 1, 0, 50, (byte) 9);
            Recorder all = new Recorder();
            reopened.rollback(0, all);
            assertThat(all.calls).as("the part left by the crash is not restored")
                    .containsExactly("1:0:50:9", "zero 1:50:512", "0:0:100:1", "zero 0:100:512");
        }
        try (UndoLog again = UndoLog.open(dir, "g", 6, TINY)) {
            assertThat(again.lastSeq()).isEqualTo(6);
            assertThat(again.baseSeq()).isZero();
        }
    }

    @Test
    void shouldRefuseAnotherRangeAfterPartsACrashLeftSoThatTheCallerStartsOver() throws IOException {
        try (UndoLog log = UndoLog.open(dir, "g", 0, TINY)) {
            preImage(log, 1, 3, 0, 0, 100, (byte) 1);
            log.begin(4, 6);
            log.addWrite(0, 0, 4096, dst -> dst.put(new byte[4096])); // a part record, never its FINAL
            log.sync();
        }
        try (UndoLog reopened = UndoLog.open(dir, "g", 3, TINY)) {
            reopened.begin(4, 5);
            reopened.addZero(0, 0, 512);
            assertThatThrownBy(reopened::finish).isInstanceOf(IOException.class).hasMessageContaining("undo log");
            reopened.startOver(5);
            preImage(reopened, 6, 6, 0, 0, 10, (byte) 4);
            Recorder toFive = new Recorder();
            reopened.rollback(5, toFive);
            assertThat(toFive.calls).containsExactly("0:0:10:4", "zero 0:10:512");
        }
    }

    @Test
    void shouldRollBackAPreImageOfSeveralParts() throws IOException {
        try (UndoLog log = UndoLog.open(dir, "g", 0, TINY)) {
            preImage(log, 1, 1, 0, 0, 100, (byte) 1);
            log.begin(2, 5);
            log.addWrite(0, 0, 4096, dst -> dst.put(new byte[4096])); // fills a record: part 0
            log.addWrite(1, 8192, 10, dst -> dst.put(new byte[] {5, 5, 5, 5, 5, 5, 5, 5, 5, 5}));
            log.finish();
            log.sync();
            Recorder toOne = new Recorder();
            log.rollback(1, toOne);
            assertThat(toOne.calls).containsExactly("1:8192:10:5", "0:0:4096:0");
        }
    }

    @Test
    void shouldStartOverWhenTheLogDoesNotReachTheAppliedSeq() throws IOException {
        try (UndoLog log = UndoLog.open(dir, "g", 0, TINY)) {
            preImage(log, 1, 3, 0, 0, 100, (byte) 1);
        }
        try (UndoLog reopened = UndoLog.open(dir, "g", 10, TINY)) {
            assertThat(reopened.baseSeq()).isEqualTo(10);
            assertThat(reopened.lastSeq()).isEqualTo(10);
            assertThat(reopened.bytesOnDisk()).isZero();
            assertThatThrownBy(() -> reopened.rollback(3, new Recorder())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("oldest recoverable seq 10");
        }
    }

    @Test
    void shouldReportADamagedRecordInsteadOfRestoringWrongBytes() throws IOException {
        try (UndoLog log = UndoLog.open(dir, "g", 0, TINY)) {
            for (long seq = 1; seq <= 6; seq++) {
                preImage(log, seq, seq, 0, 0, 3000, (byte) seq);
            }
        }
        Path segment; // the first, sealed file: damage there is not a torn tail
        try (Stream<Path> files = Files.list(dir)) {
            segment = files.filter(p -> p.toString().endsWith(".cq4")).sorted().findFirst().orElseThrow();
        }
        // Find the old bytes of seq 1 (stored raw: they do not compress) and damage them.
        byte[] old = new byte[16];
        java.util.Random noise = new java.util.Random(1);
        old[0] = 1;
        for (int i = 1; i < old.length; i++) {
            old[i] = (byte) noise.nextInt();
        }
        byte[] file = new byte[1 << 20]; // the records are near the start of the (sparse) file
        try (FileChannel c = FileChannel.open(segment, StandardOpenOption.READ)) {
            c.read(ByteBuffer.wrap(file), 0);
        }
        int at = indexOf(file, old);
        assertThat(at).as("old bytes of seq 1 in %s", segment).isPositive();
        try (FileChannel c = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            c.write(ByteBuffer.wrap(new byte[] {0x55, 0x55}), at + 8);
        }
        try (UndoLog reopened = UndoLog.open(dir, "g", 6, UndoLog.Options.defaults())) {
            assertThatThrownBy(() -> reopened.rollback(0, new Recorder())).isInstanceOf(IOException.class)
                    .hasMessageContaining("damaged");
        }
    }

    @Test
    void shouldReleaseWholeSegmentsAndRaiseTheBaseSeq() throws IOException {
        try (UndoLog log = UndoLog.open(dir, "g", 0, TINY)) {
            for (long seq = 1; seq <= 30; seq++) {
                preImage(log, seq, seq, 0, seq * 4096, 3000, (byte) seq);
            }
            long before = log.bytesOnDisk();
            long filesBefore = cycleFiles();
            log.release(20);
            assertThat(log.baseSeq()).isPositive().isLessThanOrEqualTo(20);
            assertThat(log.bytesOnDisk()).isLessThan(before);
            assertThat(cycleFiles()).isLessThan(filesBefore);
            Recorder toBase = new Recorder();
            log.rollback(log.baseSeq(), toBase);
            assertThat(toBase.calls).hasSize((int) (30 - log.baseSeq()) * 2);
            assertThat(log.releaseOldest()).isTrue();
        }
    }

    @Test
    void shouldStartOverAfterAFailureAndRecordTheNextDeltasFromThere() throws IOException {
        try (UndoLog log = UndoLog.open(dir, "g", 0, TINY)) {
            preImage(log, 1, 3, 0, 0, 3000, (byte) 1);
            preImage(log, 4, 6, 0, 0, 3000, (byte) 2);
            log.begin(7, 9); // the capture of 7..9 failed half way
            log.startOver(9);
            assertThat(log.baseSeq()).isEqualTo(9);
            assertThat(log.bytesOnDisk()).isZero();
            assertThat(cycleFiles()).isZero();
            preImage(log, 10, 12, 1, 0, 100, (byte) 7);
            Recorder rollback = new Recorder();
            log.rollback(9, rollback);
            assertThat(rollback.calls).containsExactly("1:0:100:7", "zero 1:100:512");
            assertThatThrownBy(() -> log.rollback(6, new Recorder())).isInstanceOf(IllegalArgumentException.class);
        }
        try (UndoLog reopened = UndoLog.open(dir, "g", 12, TINY)) {
            assertThat(reopened.baseSeq()).isEqualTo(9);
            assertThat(reopened.lastSeq()).isEqualTo(12);
        }
    }

    private long cycleFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".cq4")).count();
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
