package io.ferry.capture.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.capture.bitmap.DirtyMap;
import io.ferry.capture.bitmap.JournalBudget;
import io.ferry.volume.VolumeFile;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The write pipeline under a bounded journal: a write that would pass journal.maxBytes folds
 * every record the receiver lacks into the dirty map and switches to bitmap mode, later writes
 * only mark the map (and still reach the volume), the mode is persisted, and the return to
 * journal mode continues the seqs after the fold.
 */
class WritePipelineBitmapModeTest {
    private static final long SIZE = 1 << 20;
    private static final int B = DirtyMap.BLOCK_BYTES;

    @TempDir
    Path dir;

    private InMemoryJournal journal;
    private VolumeFile a;
    private DirtyMap dirty;
    private WritePipeline pipeline;
    private final List<String> persisted = new ArrayList<>();
    private final AtomicLong acked = new AtomicLong();

    @BeforeEach
    void start() throws Exception {
        journal = new InMemoryJournal();
        a = VolumeFile.openOrCreate(dir.resolve("a.img"), SIZE);
        dirty = DirtyMap.open(dir.resolve("bitmap"), "g", List.of(SIZE));
        pipeline = WritePipeline.start("g", List.of("a"), List.of(a), journal, () -> 1_000L, 1024);
        JournalBudget budget = new JournalBudget(1 << 20);
        budget.add(journal);
        pipeline.overflow(new Overflow(budget, dirty, (bitmap, folded, since, crash) ->
                persisted.add(bitmap + "@" + folded), false, false, 0, 0));
        pipeline.releasableSeq(acked::get);
    }

    @AfterEach
    void stop() throws Exception {
        pipeline.close();
        a.close();
        dirty.close();
    }

    private int write(long offset, byte fill) throws Exception {
        byte[] data = new byte[B];
        java.util.Arrays.fill(data, fill);
        CompletableFuture<Integer> done = new CompletableFuture<>();
        pipeline.submitWrite(0, offset, Unpooled.wrappedBuffer(data), true, done::complete);
        return done.get(10, TimeUnit.SECONDS);
    }

    @Test
    void shouldFoldTheUnacknowledgedRecordsAndGoOnMarkingWhenTheJournalIsFull() throws Exception {
        for (int i = 0; i < 4; i++) {
            assertThat(write(i * 2L * B, (byte) i)).isZero(); // blocks 0, 2, 4, 6 at seqs 1..4
        }
        acked.set(2); // the receiver holds seqs 1 and 2: their blocks need no mark
        journal.bytesOnDisk = 1 << 20; // full
        assertThat(write(20L * B, (byte) 9)).isZero();

        assertThat(pipeline.bitmapMode()).isTrue();
        assertThat(pipeline.foldedSeq()).isEqualTo(4);
        assertThat(persisted).containsExactly("true@4");
        assertThat(marked()).containsExactly(4L, 6L, 20L);
        assertThat(journal.records).hasSize(4).as("the write after the fold is not journaled");
        assertThat(pipeline.capturedSeq()).isEqualTo(4);
        ByteBuffer back = ByteBuffer.allocate(B);
        a.read(20L * B, back);
        assertThat(back.array()[0]).as("the write reached the volume").isEqualTo((byte) 9);

        // the shipper closed its reader: the journal goes, seqs go on after the fold
        assertThat(pipeline.foldReleased()).isFalse();
        assertThat(pipeline.releaseFolded()).isTrue();
        org.awaitility.Awaitility.await().until(pipeline::foldReleased);
        assertThat(journal.records).isEmpty();
        journal.bytesOnDisk = 0;
        CompletableFuture<Boolean> resumed = new CompletableFuture<>();
        assertThat(pipeline.resumeJournal(0, resumed::complete)).isTrue();
        assertThat(resumed.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(persisted).containsExactly("true@4", "false@4");
        assertThat(write(30L * B, (byte) 7)).isZero();
        assertThat(journal.records).extracting(InMemoryJournal.Record::seq).containsExactly(5L);
        assertThat(marked()).as("journaled again, the map is left to the resync").containsExactly(4L, 6L, 20L);
    }

    @Test
    void shouldNotReturnToJournalModeBeforeTheFoldedJournalIsReleased() throws Exception {
        assertThat(write(0, (byte) 1)).isZero();
        journal.bytesOnDisk = 1 << 20;
        assertThat(write(B, (byte) 2)).isZero();
        CompletableFuture<Boolean> resumed = new CompletableFuture<>();
        assertThat(pipeline.resumeJournal(0, resumed::complete)).isTrue();
        assertThat(resumed.get(10, TimeUnit.SECONDS)).isFalse();
        assertThat(pipeline.bitmapMode()).isTrue();
    }

    @Test
    void shouldMarkTheRecordsAfterThePromotePointAsDivergentAndRefuseEveryWriteOnceFenced() throws Exception {
        List<Long> fences = new ArrayList<>();
        pipeline.fencing(fences::add, -1);
        for (int i = 0; i < 3; i++) {
            assertThat(write(i * 2L * B, (byte) i)).isZero(); // blocks 0, 2, 4 at seqs 1..3
        }
        CompletableFuture<Boolean> fenced = new CompletableFuture<>();
        assertThat(pipeline.fence(1, fenced::complete)).isTrue();
        assertThat(fenced.get(10, TimeUnit.SECONDS)).isTrue();

        assertThat(pipeline.fenced()).isTrue();
        assertThat(fences).containsExactly(1L);
        assertThat(marked()).as("seqs 2 and 3 came after the promote point").containsExactly(2L, 4L);
        assertThat(write(8L * B, (byte) 9)).isEqualTo(io.ferry.nbd.NbdErrors.EPERM);
        CompletableFuture<Integer> zeroes = new CompletableFuture<>();
        pipeline.submitWriteZeroes(0, 0, B, false, zeroes::complete);
        assertThat(zeroes.get(10, TimeUnit.SECONDS)).isEqualTo(io.ferry.nbd.NbdErrors.EPERM);
        CompletableFuture<Integer> flushed = new CompletableFuture<>();
        pipeline.submitFlush(flushed::complete);
        assertThat(flushed.get(10, TimeUnit.SECONDS)).as("a flush is still answered").isZero();
        assertThat(pipeline.capturedSeq()).isEqualTo(3);
        ByteBuffer back = ByteBuffer.allocate(B);
        a.read(8L * B, back);
        assertThat(back.array()[0]).as("the refused write never reached the volume").isZero();
    }

    private List<Long> marked() throws Exception {
        List<Long> blocks = new ArrayList<>();
        dirty.forEachRun(0, 0, SIZE, (at, length) -> {
            for (long b = at / B; b < (at + length) / B; b++) {
                blocks.add(b);
            }
        });
        return blocks;
    }
}
