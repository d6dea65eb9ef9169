package io.ferry.capture.ship;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.capture.pipeline.InMemoryJournal;
import io.ferry.capture.pipeline.WritePipeline;
import io.ferry.nbd.NbdErrors;
import io.ferry.volume.VolumeFile;
import io.ferry.wire.Ack;
import io.ferry.wire.GroupAck;
import io.ferry.wire.HelloAck;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipping thread over a {@link FakeLink}: fault containment between groups. */
class ShipperTest {
    private static final long SIZE = 1 << 20;
    private static final long T0 = 1_000_000_000_000L;
    private static final long S = 1_000_000_000L;

    @TempDir
    Path dir;

    private final AtomicLong now = new AtomicLong(T0);
    private final FakeLink link = new FakeLink();
    private final List<AutoCloseable> resources = new ArrayList<>();
    private Shipper shipper;

    @AfterEach
    void stop() throws Exception {
        if (shipper != null) {
            shipper.close();
        }
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    private record Group(String name, InMemoryJournal journal, WritePipeline pipeline) {
    }

    private Group group(String name) throws Exception {
        InMemoryJournal journal = new InMemoryJournal();
        VolumeFile file = VolumeFile.openOrCreate(dir.resolve(name + ".img"), SIZE);
        resources.add(file);
        WritePipeline pipeline = WritePipeline.start(name, List.of(name + "-vol"), List.of(file), journal, now::get, 64);
        resources.add(pipeline);
        return new Group(name, journal, pipeline);
    }

    private static ShippedGroup shipped(Group g, long rpoNanos) {
        return new ShippedGroup(g.name(), g.journal(), g.pipeline(), List.of(new VolumeInfo(g.name() + "-vol", SIZE)),
                1, rpoNanos, 8L << 20, 64L << 20);
    }

    private static CompletableFuture<Integer> write(Group g, long offset) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        g.pipeline().submitWrite(0, offset, Unpooled.wrappedBuffer(new byte[4096]), false, done::complete);
        return done;
    }

    private static GroupAck ok(String group) {
        return new GroupAck(group, 0, 1, GroupAck.STATUS_OK);
    }

    @Test
    void shouldFailAGroupWhoseShippingThrowsAndKeepShippingTheGroupsAfterIt() throws Exception {
        Group a = group("a");
        Group b = group("b");
        Group c = group("c");
        // a is synchronous (rpo 0s): its writers must not hang once its shipping failed
        shipper = Shipper.start("host-a", link, List.of(shipped(a, 0), shipped(b, 10 * S), shipped(c, 10 * S)), now::get,
                UnpooledByteBufAllocator.DEFAULT);
        assertThat(link.started).isTrue();
        link.listener.onHelloAck(1, new HelloAck(1, HelloAck.MIN_MAX_FRAME_BYTES, List.of(ok("a"), ok("b"), ok("c"))));
        await().atMost(Duration.ofSeconds(10)).until(() -> shipper.group("c").state().equals(GroupShipper.REPLICATING)
                && shipper.group("a").state().equals(GroupShipper.REPLICATING));

        a.journal().readFailure = new IllegalStateException("journal of a is unreadable at seq 1");
        CompletableFuture<Integer> syncWrite = write(a, 0);
        assertThat(write(b, 0).get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);
        assertThat(write(c, 0).get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);
        now.set(T0 + 2 * S); // past b's and c's coalescing window
        shipper.wake();

        await().atMost(Duration.ofSeconds(10)).until(() -> !link.deltas("b").isEmpty() && !link.deltas("c").isEmpty());
        assertThat(syncWrite.get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);
        Shipper.GroupView failed = shipper.group("a");
        assertThat(failed.state()).isEqualTo("failed");
        assertThat(failed.problem()).contains("journal of a is unreadable at seq 1");
        assertThat(link.deltas("a")).isEmpty();

        // The failed group stays failed; the others go on: ACKs, more deltas.
        a.journal().readFailure = null;
        link.listener.onAck(1, new Ack("b", 1));
        assertThat(write(b, 8192).get(10, TimeUnit.SECONDS)).isEqualTo(NbdErrors.OK);
        now.set(T0 + 4 * S);
        shipper.wake();
        await().atMost(Duration.ofSeconds(10)).until(() -> link.deltas("b").size() == 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> b.journal().releasedSeq() == 1);
        assertThat(shipper.group("b").state()).isEqualTo(GroupShipper.REPLICATING);
        assertThat(shipper.group("c").state()).isEqualTo(GroupShipper.REPLICATING);
        assertThat(shipper.group("a").state()).isEqualTo("failed");
        assertThat(link.deltas("a")).isEmpty();
    }

    @Test
    void shouldGreetTheReceiverWithEveryGroupAndStopTheLinkOnClose() throws Exception {
        Group a = group("a");
        Group b = group("b");
        shipper = Shipper.start("host-a", link, List.of(shipped(a, 10 * S), shipped(b, 10 * S)), now::get,
                UnpooledByteBufAllocator.DEFAULT);
        assertThat(link.hello.get().groups()).extracting(g -> g.name()).containsExactly("a", "b");
        assertThat(shipper.group("a").state()).isEqualTo(GroupShipper.DISCONNECTED);
        assertThat(shipper.group("nope")).isNull();
        assertThat(shipper.bookmark("nope", 1, "x")).isEqualTo(Shipper.BookmarkOutcome.UNKNOWN_GROUP);
        assertThat(shipper.bookmark("a", 0, "x")).isEqualTo(Shipper.BookmarkOutcome.QUEUED);
        shipper.close();
        assertThat(link.closed).isTrue();
        shipper = null;
    }
}
