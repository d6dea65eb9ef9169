package io.ferry.capture.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.capture.journal.Journal;
import io.ferry.volume.VolumeFile;
import io.ferry.nbd.NbdErrors;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WritePipelineTest {
    private static final long SIZE = 1 << 20;

    @TempDir
    Path dir;

    private InMemoryJournal journal;
    private VolumeFile a;
    private VolumeFile b;
    private WritePipeline pipeline;
    private final AtomicLong clockNanos = new AtomicLong(1_000);

    @BeforeEach
    void start() throws Exception {
        journal = new InMemoryJournal();
        a = VolumeFile.openOrCreate(dir.resolve("a.img"), SIZE);
        b = VolumeFile.openOrCreate(dir.resolve("b.img"), SIZE);
        pipeline = WritePipeline.start("g", List.of("a", "b"), List.of(a, b), journal, clockNanos::incrementAndGet, 1024);
    }

    @AfterEach
    void stop() {
        pipeline.close();
        a.close();
        b.close();
    }

    private int write(int volume, long offset, byte[] data, boolean fua) throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        pipeline.submitWrite(volume, offset, Unpooled.wrappedBuffer(data), fua, done::complete);
        return done.get(10, TimeUnit.SECONDS);
    }

    private static byte[] read(VolumeFile file, long offset, int length) throws Exception {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        file.read(offset, buffer);
        return buffer.array();
    }

    @Test
    void shouldJournalAndApplyEveryChangeBeforeAnsweringWithGapFreeSeqsAcrossVolumes() throws Exception {
        byte[] x = filled(4096, 'x');
        byte[] y = filled(8192, 'y');
        assertThat(write(0, 0, x, false)).isZero();
        assertThat(write(1, 4096, y, false)).isZero();
        CompletableFuture<Integer> zero = new CompletableFuture<>();
        pipeline.submitWriteZeroes(0, 1024, 1024, false, zero::complete);
        assertThat(zero.get(10, TimeUnit.SECONDS)).isZero();
        CompletableFuture<Integer> trim = new CompletableFuture<>();
        pipeline.submitTrim(1, 4096, 4096, false, trim::complete);
        assertThat(trim.get(10, TimeUnit.SECONDS)).isZero();

        assertThat(journal.records).extracting(InMemoryJournal.Record::seq).containsExactly(1L, 2L, 3L, 4L);
        assertThat(journal.records).extracting(InMemoryJournal.Record::volume).containsExactly("a", "b", "a", "b");
        assertThat(journal.records).extracting(InMemoryJournal.Record::type)
                .containsExactly(Journal.WRITE, Journal.WRITE, Journal.WRITE_ZEROES, Journal.TRIM);
        assertThat(journal.records.get(0).data()).isEqualTo(x);
        assertThat(journal.records.get(2).data()).isNull();
        assertThat(journal.records).extracting(InMemoryJournal.Record::captureNanos).isSorted();
        assertThat(pipeline.capturedSeq()).isEqualTo(4);

        byte[] expectedA = x.clone();
        Arrays.fill(expectedA, 1024, 2048, (byte) 0);
        assertThat(read(a, 0, 4096)).isEqualTo(expectedA);
        assertThat(read(b, 4096, 4096)).isEqualTo(new byte[4096]);
        assertThat(read(b, 8192, 4096)).isEqualTo(Arrays.copyOfRange(y, 4096, 8192));
    }

    @Test
    void shouldAnswerFlushAndFuaOnlyAfterTheSync() throws Exception {
        assertThat(write(0, 0, filled(512, 'p'), false)).isZero();
        journal.syncGate = new CountDownLatch(1);
        CompletableFuture<Integer> flush = new CompletableFuture<>();
        pipeline.submitFlush(flush::complete);
        CompletableFuture<Integer> fua = new CompletableFuture<>();
        pipeline.submitWrite(1, 0, Unpooled.wrappedBuffer(filled(512, 'q')), true, fua::complete);
        CompletableFuture<Integer> plain = new CompletableFuture<>();
        pipeline.submitWrite(1, 512, Unpooled.wrappedBuffer(filled(512, 'r')), false, plain::complete);

        assertThat(plain.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(flush).isNotDone();
        assertThat(fua).isNotDone();
        journal.syncGate.countDown();
        assertThat(flush.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(fua.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(journal.syncs.get()).isPositive();
    }

    @Test
    void shouldRefuseEveryWriteWithEioOnceTheJournalFailed() throws Exception {
        assertThat(write(0, 0, filled(512, 'a'), false)).isZero();
        journal.appendFailure = new IllegalStateException("disk full");
        assertThat(write(0, 512, filled(512, 'b'), false)).isEqualTo(NbdErrors.EIO);
        journal.appendFailure = null;
        assertThat(write(0, 1024, filled(512, 'c'), false)).isEqualTo(NbdErrors.EIO);
        CompletableFuture<Integer> flush = new CompletableFuture<>();
        pipeline.submitFlush(flush::complete);
        assertThat(flush.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.EIO);
        assertThat(pipeline.failure()).contains("disk full");
        assertThat(read(a, 512, 512)).isEqualTo(new byte[512]);
        assertThat(journal.records).hasSize(1);
    }

    @Test
    void shouldRefuseRequestsAfterCloseWithoutLosingAcceptedOnes() throws Exception {
        List<CompletableFuture<Integer>> accepted = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            pipeline.submitWrite(0, i * 512L, Unpooled.wrappedBuffer(filled(512, 'z')), false, f::complete);
            accepted.add(f);
        }
        pipeline.close();
        for (CompletableFuture<Integer> f : accepted) {
            assertThat(f.get(10, TimeUnit.SECONDS)).isZero();
        }
        assertThat(journal.records).hasSize(100);
        CompletableFuture<Integer> late = new CompletableFuture<>();
        pipeline.submitWrite(0, 0, Unpooled.wrappedBuffer(filled(512, 'l')), false, late::complete);
        assertThat(late.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.ESHUTDOWN);
    }

    /**
     * Write-order fidelity: several threads each issue writes one after another; whenever a
     * write's reply came before another write was submitted, the later one has the higher seq.
     */
    @Test
    void shouldGiveAWriteIssuedAfterAnothersReplyTheHigherSeq() throws Exception {
        int threads = 4;
        int perThread = 500;
        AtomicLong replies = new AtomicLong();
        long[][] submittedAfter = new long[threads][perThread];
        long[][] repliedAt = new long[threads][perThread];
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            workers.add(new Thread(() -> {
                for (int n = 0; n < perThread; n++) {
                    int i = n;
                    byte[] tag = (thread + ":" + i + ";").getBytes(StandardCharsets.US_ASCII);
                    byte[] data = Arrays.copyOf(tag, 512);
                    submittedAfter[thread][i] = replies.get();
                    CompletableFuture<Integer> f = new CompletableFuture<>();
                    pipeline.submitWrite(thread % 2, (thread * perThread + i) * 512L % SIZE,
                            Unpooled.wrappedBuffer(data), false, errno -> {
                                repliedAt[thread][i] = replies.incrementAndGet();
                                f.complete(errno);
                            });
                    assertThat(f.join()).isZero();
                }
            }));
        }
        workers.forEach(Thread::start);
        for (Thread worker : workers) {
            worker.join(60_000);
        }
        Map<String, Long> seqByTag = new HashMap<>();
        for (InMemoryJournal.Record r : journal.records) {
            String text = new String(r.data(), StandardCharsets.US_ASCII);
            seqByTag.put(text.substring(0, text.indexOf(';')), r.seq());
        }
        assertThat(seqByTag).hasSize(threads * perThread);
        WriteOrder order = new WriteOrder();
        for (int t = 0; t < threads; t++) {
            for (int i = 0; i < perThread; i++) {
                order.add(submittedAfter[t][i], repliedAt[t][i], seqByTag.get(t + ":" + i));
            }
        }
        assertThat(order.assertLaterWritesHaveHigherSeqs()).isGreaterThan(threads * perThread / 2);
    }

    private static byte[] filled(int length, char c) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) c);
        return bytes;
    }
}
