package io.ferry.receiver.session;

import io.ferry.replica.store.GroupTarget;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.ferry.wire.ErrorCode;
import io.ferry.wire.ProtocolException;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GroupLinkTest {

    private static final ReplicationSession FIRST = session();
    private static final ReplicationSession SECOND = session();

    private FakeGroupTarget target;
    private GroupLink link;

    private static ReplicationSession session() {
        return new ReplicationSession(new SessionContext("dr-1", java.util.Map.of(), java.util.Map.of(),
                SessionSettings.defaults(), ctx -> "x", Runnable::run));
    }

    @BeforeEach
    void attach() throws Exception {
        target = new FakeGroupTarget("db");
        target.attachVolumes(List.of(new VolumeInfo("v", 1 << 20)));
        link = new GroupLink("db", "host-a", target);
    }

    private static ByteBuf body() {
        return Unpooled.buffer(16).writeZero(16);
    }

    @Test
    void shouldLetOnlyTheCurrentOwnerAppend() {
        assertThat(link.takeOver(FIRST)).isNull();
        assertThat(link.append(FIRST, body(), 1, 1, 10, 10, seq -> { })).isTrue();

        assertThat(link.takeOver(SECOND)).isSameAs(FIRST);
        ByteBuf late = body();
        assertThat(link.append(FIRST, late, 2, 2, 20, 20, seq -> { })).isFalse();
        assertThat(late.refCnt()).as("the superseded session's body is released").isZero();
        assertThat(target.appends()).hasSize(1);

        link.release(FIRST);
        assertThat(link.connected()).as("a superseded session's release does not disconnect the new owner").isTrue();
        link.release(SECOND);
        assertThat(link.connected()).isFalse();
    }

    @Test
    void shouldRefuseAGapAndReleaseTheBody() {
        link.takeOver(FIRST);
        ByteBuf body = body();
        ProtocolException e = catchThrowableOfType(ProtocolException.class,
                () -> link.append(FIRST, body, 3, 3, 0, 0, seq -> { }));
        assertThat(e.code()).isEqualTo(ErrorCode.SEQUENCE_GAP);
        assertThat(body.refCnt()).isZero();
        assertThat(target.appends()).isEmpty();
    }

    @Test
    void shouldReportAFailedGroupAsInternal() {
        link.takeOver(FIRST);
        target.fail("disk gone");
        ProtocolException e = catchThrowableOfType(ProtocolException.class,
                () -> link.append(FIRST, body(), 1, 1, 0, 0, seq -> { }));
        assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
        assertThat(e.getMessage()).contains("disk gone");
    }

    @Test
    void shouldKnowTheCaptureTimeOfTheOldestUnappliedDelta() {
        link.takeOver(FIRST);
        link.append(FIRST, body(), 1, 3, 100, 300, seq -> { });
        link.append(FIRST, body(), 4, 4, 400, 400, seq -> { });
        link.append(FIRST, body(), 5, 9, 500, 900, seq -> { });

        assertThat(link.oldestUnappliedCaptureNanos(0)).isEqualTo(100);
        assertThat(link.oldestUnappliedCaptureNanos(3)).isEqualTo(400);
        assertThat(link.oldestUnappliedCaptureNanos(4)).isEqualTo(500);
        assertThat(link.oldestUnappliedCaptureNanos(9)).isEqualTo(-1);
        assertThat(link.bytesReceived()).isEqualTo(48);
        assertThat(link.deltasReceived()).isEqualTo(3);
        assertThat(link.lastDeltaFirstSeq()).isEqualTo(5);
    }

    @Test
    void shouldKeepTheOldestCaptureTimeWhenTheRingIsFull() {
        link.takeOver(FIRST);
        int deltas = GroupLink.UNAPPLIED_CAPACITY + 10;
        for (int seq = 1; seq <= deltas; seq++) {
            link.append(FIRST, body(), seq, seq, seq * 10L, seq * 10L, s -> { });
        }
        assertThat(link.oldestUnappliedCaptureNanos(0)).isEqualTo(10);
        assertThat(link.oldestUnappliedCaptureNanos(deltas - 1)).as("merged into the newest entry")
                .isEqualTo(GroupLink.UNAPPLIED_CAPACITY * 10L);
        assertThat(link.oldestUnappliedCaptureNanos(deltas)).isEqualTo(-1);
    }
}
