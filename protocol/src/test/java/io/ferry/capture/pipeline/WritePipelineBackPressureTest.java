package io.ferry.capture.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.awaitility.Awaitility.await;

import io.ferry.nbd.BlockDevice;
import io.ferry.nbd.NbdErrors;
import io.ferry.volume.VolumeFile;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A connection's {@link WritePipeline.Producer} on a full ring: it never waits, suspends the
 * connection's reading, and publishes every held request in order once the ring has room.
 */
class WritePipelineBackPressureTest {
    private static final int RING_SIZE = 4;
    private static final int WRITES = 40;

    @TempDir
    Path dir;

    private final InMemoryJournal journal = new InMemoryJournal();
    private final ManualLoop loop = new ManualLoop();
    private final AtomicLong clockNanos = new AtomicLong(1_000);
    private VolumeFile file;
    private WritePipeline pipeline;

    /** The connection's event loop, run by the test; records what the producer asked of it. */
    private static final class ManualLoop implements BlockDevice.ConnectionFlow, Executor {
        final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
        boolean suspended;
        int suspends;
        int resumes;

        @Override
        public void suspend() {
            suspended = true;
            suspends++;
        }

        @Override
        public void resume() {
            suspended = false;
            resumes++;
        }

        @Override
        public Executor executor() {
            return this;
        }

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }

        void runPending() {
            Runnable task;
            while ((task = tasks.poll()) != null) {
                task.run();
            }
        }
    }

    @BeforeEach
    void start() throws Exception {
        file = VolumeFile.openOrCreate(dir.resolve("a.img"), 1 << 20);
        pipeline = WritePipeline.start("g", List.of("a"), List.of(file), journal, clockNanos::incrementAndGet, RING_SIZE);
    }

    @AfterEach
    void stop() {
        journal.appendGate.countDown();
        pipeline.close();
        loop.runPending();
        file.close();
    }

    @Test
    void shouldSuspendTheConnectionWhenTheRingIsFullAndPublishEveryHeldWriteInOrderOnceItHasRoom() {
        journal.appendGate = new CountDownLatch(1); // the disk stalls: the ring fills up
        WritePipeline.Producer producer = pipeline.producer(loop);
        List<Integer> answered = Collections.synchronizedList(new ArrayList<>());
        List<Integer> errnos = Collections.synchronizedList(new ArrayList<>());

        // On the event loop, submitting never waits for a slot, however full the ring is.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            for (int i = 0; i < WRITES; i++) {
                int n = i;
                producer.submitWrite(0, n * 512L, payload(n), false, errno -> {
                    answered.add(n);
                    errnos.add(errno);
                });
            }
        });
        assertThat(loop.suspended).isTrue();
        assertThat(loop.suspends).isEqualTo(1);
        assertThat(producer.heldRequests()).isEqualTo(WRITES - RING_SIZE);
        assertThat(answered).isEmpty();

        journal.appendGate.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            loop.runPending();
            return answered.size() == WRITES;
        });
        loop.runPending();

        List<Integer> inOrder = new ArrayList<>();
        for (int i = 0; i < WRITES; i++) {
            inOrder.add(i);
        }
        assertThat(answered).containsExactlyElementsOf(inOrder);
        assertThat(errnos).containsOnly(NbdErrors.OK);
        assertThat(journal.records).extracting(InMemoryJournal.Record::offset)
                .containsExactlyElementsOf(inOrder.stream().map(n -> n * 512L).toList());
        assertThat(journal.records).extracting(InMemoryJournal.Record::seq).isSorted();
        assertThat(producer.heldRequests()).isZero();
        assertThat(loop.suspended).isFalse();
        assertThat(loop.resumes).isEqualTo(1);
    }

    @Test
    void shouldQueueAFlushBehindHeldWritesSoItCoversThem() {
        journal.appendGate = new CountDownLatch(1);
        WritePipeline.Producer producer = pipeline.producer(loop);
        List<String> answered = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < RING_SIZE + 2; i++) {
            int n = i;
            producer.submitWrite(0, n * 512L, payload(n), false, errno -> answered.add("write " + n));
        }
        producer.submitFlush(errno -> answered.add("flush " + errno));
        assertThat(producer.heldRequests()).isEqualTo(3);

        journal.appendGate.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            loop.runPending();
            return answered.size() == RING_SIZE + 3;
        });
        assertThat(answered).last().isEqualTo("flush 0");
        assertThat(journal.records).hasSize(RING_SIZE + 2);
        assertThat(journal.syncs.get()).isPositive();
    }

    @Test
    void shouldAnswerHeldRequestsWithEshutdownAndReleaseTheirPayloadsWhenThePipelineCloses() {
        journal.appendGate = new CountDownLatch(1);
        WritePipeline.Producer producer = pipeline.producer(loop);
        List<Integer> errnos = Collections.synchronizedList(new ArrayList<>());
        List<ByteBuf> payloads = new ArrayList<>();
        for (int i = 0; i < RING_SIZE + 3; i++) {
            ByteBuf data = payload(i);
            payloads.add(data);
            producer.submitWrite(0, i * 512L, data, false, errnos::add);
        }
        journal.appendGate.countDown();
        pipeline.close(); // drains what the ring holds; the held three never entered it
        loop.runPending();

        assertThat(errnos).hasSize(RING_SIZE + 3);
        assertThat(errnos.subList(0, RING_SIZE)).containsOnly(NbdErrors.OK);
        assertThat(errnos.subList(RING_SIZE, RING_SIZE + 3)).containsOnly(NbdErrors.ESHUTDOWN);
        assertThat(payloads).allSatisfy(data -> assertThat(data.refCnt()).isZero());
        assertThat(producer.heldRequests()).isZero();
    }

    private static ByteBuf payload(int n) {
        byte[] bytes = new byte[512];
        bytes[0] = (byte) n;
        return Unpooled.wrappedBuffer(bytes);
    }
}
