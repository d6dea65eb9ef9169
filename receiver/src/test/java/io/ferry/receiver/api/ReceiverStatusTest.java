package io.ferry.receiver.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.receiver.session.FakeGroupTarget;
import io.ferry.receiver.session.GroupLink;
import io.ferry.receiver.session.LinkDriver;
import io.ferry.wire.VolumeInfo;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** State, lag and metrics of groups, with a fake group and a clock the test drives. */
class ReceiverStatusTest {

    private static final long SECOND = 1_000_000_000L;

    private final AtomicLong nowNanos = new AtomicLong(1_000 * SECOND);
    private FakeGroupTarget db;
    private GroupLink link;

    @BeforeEach
    void createGroup() throws Exception {
        db = new FakeGroupTarget("db");
        db.attachVolumes(List.of(new VolumeInfo("db-data", 1 << 20)));
        link = new GroupLink("db", "host-a", db);
    }

    private ReceiverStatus.Group status() {
        return ReceiverStatus.of("dr-1", List.of(link), nowNanos::get).groups().get(0);
    }

    @Test
    void shouldBeSyncingBeforeTheAgentEverConnected() {
        ReceiverStatus.Group group = status();
        assertThat(group.state()).isEqualTo("syncing");
        assertThat(group.connected()).isFalse();
        assertThat(group.lagSeconds()).isZero();
        assertThat(group.agent()).isEqualTo("host-a");
        assertThat(group.volumes()).containsExactly(
                new ReceiverStatus.Volume("db-data", 1 << 20, db.replicaPath("db-data").toString()));
    }

    @Test
    void shouldBeReplicatingOnceConnectedAndCaughtUp() {
        LinkDriver.connect(link);
        assertThat(status().state()).isEqualTo("replicating");

        LinkDriver.append(link, 1, 5, 990 * SECOND, 995 * SECOND, 100);
        db.sync();
        db.applyUpTo(5);
        ReceiverStatus.Group group = status();
        assertThat(group.state()).isEqualTo("replicating");
        assertThat(group.receivedSeq()).isEqualTo(5);
        assertThat(group.durableSeq()).isEqualTo(5);
        assertThat(group.appliedSeq()).isEqualTo(5);
        assertThat(group.lagSeconds()).isZero();
        assertThat(group.bytesReceived()).isEqualTo(100);
    }

    @Test
    void shouldStayReplicatingWhileTheReplicaIsOneDeltaBehind() {
        LinkDriver.append(link, 1, 5, 990 * SECOND, 995 * SECOND, 100);
        LinkDriver.append(link, 6, 9, 996 * SECOND, 998 * SECOND, 100);
        db.sync();
        db.applyUpTo(5);
        ReceiverStatus.Group group = status();
        assertThat(group.state()).isEqualTo("replicating");
        assertThat(group.lagSeconds()).as("age of the oldest durable, unapplied write (seq 6)").isEqualTo(4.0);
    }

    @Test
    void shouldBeSyncingWhileTheReplicaIsMoreThanOneDeltaBehind() {
        LinkDriver.append(link, 1, 5, 990 * SECOND, 995 * SECOND, 100);
        LinkDriver.append(link, 6, 9, 996 * SECOND, 998 * SECOND, 100);
        db.sync();
        ReceiverStatus.Group group = status();
        assertThat(group.state()).isEqualTo("syncing");
        assertThat(group.lagSeconds()).isEqualTo(10.0);

        nowNanos.addAndGet(5 * SECOND);
        assertThat(status().lagSeconds()).as("the lag grows with the clock").isEqualTo(15.0);
    }

    @Test
    void shouldNotCountReceivedButNotDurableWritesAsReceiverLag() {
        LinkDriver.append(link, 1, 5, 990 * SECOND, 995 * SECOND, 100);
        ReceiverStatus.Group group = status();
        assertThat(group.receivedSeq()).isEqualTo(5);
        assertThat(group.durableSeq()).isZero();
        assertThat(group.lagSeconds()).isZero();
    }

    @Test
    void shouldReportAFailedGroupWithItsReason() {
        db.fail("journal: No space left on device");
        ReceiverStatus.Group group = status();
        assertThat(group.state()).isEqualTo("failed");
        assertThat(group.failure()).contains("No space left");
    }

    @Test
    void shouldExposeSeqsLagAndStateAsPrometheusText() {
        LinkDriver.append(link, 1, 5, 990 * SECOND, 995 * SECOND, 100);
        LinkDriver.append(link, 6, 9, 996 * SECOND, 998 * SECOND, 50);
        db.sync();
        db.applyUpTo(5);

        String text = ReceiverApi.metrics("dr-1", List.of(link), nowNanos::get);

        assertThat(text).contains(
                "# TYPE ferry_receiver_received_seq gauge",
                "ferry_receiver_received_seq{group=\"db\",agent=\"host-a\"} 9",
                "ferry_receiver_durable_seq{group=\"db\",agent=\"host-a\"} 9",
                "ferry_receiver_applied_seq{group=\"db\",agent=\"host-a\"} 5",
                "ferry_receiver_lag_seconds{group=\"db\",agent=\"host-a\"} 4",
                "ferry_receiver_received_bytes_total{group=\"db\",agent=\"host-a\"} 150",
                "ferry_receiver_connected{group=\"db\",agent=\"host-a\"} 1",
                "ferry_receiver_group_state{group=\"db\",agent=\"host-a\",state=\"replicating\"} 1",
                "ferry_receiver_group_state{group=\"db\",agent=\"host-a\",state=\"failed\"} 0");
        for (String line : text.split("\n")) {
            assertThat(line).matches("# (HELP|TYPE) .*|[a-z_]+\\{[^}]*\\} [0-9.]+");
        }
    }
}
