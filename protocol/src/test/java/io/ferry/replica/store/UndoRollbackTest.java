package io.ferry.replica.store;

import static io.ferry.replica.store.DeltaWorkload.GROUP;
import static io.ferry.replica.store.DeltaWorkload.VOLUMES;
import static io.ferry.replica.store.ReplicaAssertions.assertReplicasAt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.replica.apply.Applier;
import io.ferry.replica.journal.DeltaJournal;
import io.ferry.replica.undo.UndoLog;
import io.ferry.time.EpochNanoClock;
import io.ferry.volume.VolumeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The undo log rolls the replicas back to any delta boundary it still reaches, and a promote to a point is never half done. */
class UndoRollbackTest {
    /** A second passes at every reading, so that with {@link #EVERY_BATCH} each applied batch is a point. */
    private final AtomicLong seconds = new AtomicLong(1_700_000_000L);
    private final EpochNanoClock clock = () -> seconds.incrementAndGet() * 1_000_000_000L;
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** Small journal and undo segments, so that both roll and release. */
    static final GroupReplica.Options SMALL = new GroupReplica.Options(new DeltaJournal.Options(4 << 10), 256 << 10,
            Applier.Options.defaults(), JournalRetention.RELEASE_APPLIED, new UndoLog.Options(16 << 10, 8 << 10),
            GroupReplica.Options.DEFAULT_UNDO_MAX_BYTES);
    private static final RecoveryPoints.Policy EVERY_BATCH = new RecoveryPoints.Policy(Duration.ofNanos(1),
            Duration.ofDays(1));

    @TempDir
    Path dataDir;

    private final DeltaWorkload workload = new DeltaWorkload();
    private final List<GroupReplica> opened = new ArrayList<>();

    @AfterEach
    void closeAll() {
        opened.forEach(GroupReplica::close);
    }

    private GroupReplica open(GroupReplica.Options options) throws IOException {
        GroupReplica replica = GroupReplica.open(dataDir, GROUP, clock, options, EVERY_BATCH);
        opened.add(replica);
        return replica;
    }

    /** Appends and applies one delta at a time, so that every delta boundary becomes a recovery point. */
    private void applyUpTo(GroupReplica replica, long lastSeq) throws InterruptedException {
        for (long first = replica.receivedSeq() + 1; first <= lastSeq; ) {
            long last = DeltaWorkload.lastSeqOfDeltaFrom(first);
            replica.append(workload.body(first, last), first, last, DeltaWorkload.captureNanosOf(last), durable -> {
            });
            assertThat(replica.awaitApplied(last, WAIT)).as("applied up to %d: %s", last, replica.failure()).isTrue();
            first = last + 1;
        }
    }

    /** The replicas as they were at {@code seq}, rebuilt in memory from their current files and the undo log. */
    static byte[][] imagesAt(GroupReplica replica, long seq) throws IOException {
        byte[][] images = new byte[VOLUMES.size()][];
        replica.betweenBatches(() -> {
            for (int v = 0; v < images.length; v++) {
                images[v] = Files.readAllBytes(replica.replicaPath(VOLUMES.get(v).name()));
            }
            replica.rollback(seq, new UndoLog.Target() {
                @Override
                public void write(int volume, long offset, ByteBuffer data) {
                    data.get(images[volume], (int) offset, data.remaining());
                }

                @Override
                public void zero(int volume, long offset, long length) {
                    Arrays.fill(images[volume], (int) offset, (int) (offset + length), (byte) 0);
                }
            });
        });
        return images;
    }

    static void assertImagesAt(byte[][] images, long seq) {
        byte[][] expected = DeltaWorkload.expectedImages(seq);
        for (int v = 0; v < expected.length; v++) {
            assertThat(Arrays.mismatch(images[v], expected[v])).as("first differing byte of volume %d rolled back to"
                    + " seq %d", v, seq).isEqualTo(-1);
        }
    }

    @Test
    void shouldRebuildEveryEarlierDeltaBoundaryFromTheUndoLog() throws Exception {
        GroupReplica replica = open(SMALL);
        replica.attachVolumes(VOLUMES);
        applyUpTo(replica, 300);

        assertThat(replica.oldestRecoverableSeq()).as("at most the first point").isLessThanOrEqualTo(3);
        assertThat(replica.points().list()).hasSize(100);
        assertThat(replica.undoBytes()).isPositive();
        assertThat(Files.list(dataDir.resolve("groups").resolve(GROUP).resolve("undo")).count())
                .as("undo segments").isGreaterThan(2);
        for (long seq : new long[] {3, 6, 150, 297, 300}) {
            assertImagesAt(imagesAt(replica, seq), seq);
        }
        assertReplicasAt(replica, 300);
    }

    @Test
    void shouldPromoteToAnEarlierPointWithANewGenerationAndRefuseDeltasAfterwards() throws Exception {
        GroupReplica replica = open(SMALL);
        replica.attachVolumes(VOLUMES);
        applyUpTo(replica, 90);
        long generation = replica.generationId();

        long newGeneration = replica.promoteTo(45, 1);

        assertThat(newGeneration).isNotEqualTo(generation).isEqualTo(replica.generationId());
        assertThat(replica.isPromoted()).isTrue();
        assertThat(replica.appliedSeq()).isEqualTo(45);
        assertReplicasAt(replica, 45);
        assertThatThrownBy(() -> replica.promoteTo(45, 2)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already promoted");
        replica.close();
        GroupReplica reopened = open(SMALL);
        assertThat(reopened.isPromoted()).isTrue();
        assertThat(reopened.appliedSeq()).isEqualTo(45);
        assertReplicasAt(reopened, 45);
    }

    @Test
    void shouldFinishARollbackThatWasCutShortBeforeAnythingElseOnOpen() throws Exception {
        GroupReplica replica = open(SMALL);
        replica.attachVolumes(VOLUMES);
        applyUpTo(replica, 150);
        long generation = replica.generationId();
        replica.close();

        // What a receiver killed in the middle of a promote to seq 60 leaves: the intent persisted,
        // the replicas part rolled back.
        Path groupDir = dataDir.resolve("groups").resolve(GROUP);
        Path stateFile = groupDir.resolve(GroupState.FILE);
        GroupStateStore.write(stateFile, GroupState.read(stateFile, GROUP).withPromotingTo(60));
        try (UndoLog undo = UndoLog.open(groupDir.resolve("undo"), GROUP, 150, SMALL.undo());
                VolumeFile data = VolumeFile.openOrCreate(replica.replicaPath("data"), VOLUMES.get(0).sizeBytes());
                VolumeFile log = VolumeFile.openOrCreate(replica.replicaPath("log"), VOLUMES.get(1).sizeBytes())) {
            UndoLog.Target whole = GroupReplica.rollbackTarget(new VolumeFile[] {data, log});
            int[] writes = {0};
            assertThatThrownBy(() -> undo.rollback(60, new UndoLog.Target() {
                @Override
                public void write(int volume, long offset, ByteBuffer bytes) throws IOException {
                    if (++writes[0] > 40) {
                        throw new IOException("killed");
                    }
                    whole.write(volume, offset, bytes);
                }

                @Override
                public void zero(int volume, long offset, long length) throws IOException {
                    whole.zero(volume, offset, length);
                }
            })).hasMessage("killed");
        }

        GroupReplica reopened = open(SMALL);

        assertThat(reopened.isPromoted()).as("an interrupted promote is finished, never left half").isTrue();
        assertThat(reopened.generationId()).isNotEqualTo(generation);
        assertThat(reopened.appliedSeq()).isEqualTo(60);
        assertReplicasAt(reopened, 60);
    }

    @Test
    void shouldKeepTheUndoLogWithinItsBoundByDroppingTheOldestPoints() throws Exception {
        long bound = 64 << 10;
        GroupReplica replica = open(SMALL.withUndoMaxBytes(bound));
        replica.attachVolumes(VOLUMES);
        applyUpTo(replica, 600);

        assertThat(replica.undoBytes()).as("undo bytes").isLessThanOrEqualTo(bound);
        long oldest = replica.oldestRecoverableSeq();
        assertThat(oldest).as("oldest recoverable seq").isPositive();
        assertThat(replica.points().list()).isNotEmpty()
                .allSatisfy(p -> assertThat(p.seq()).isGreaterThanOrEqualTo(oldest));
        assertImagesAt(imagesAt(replica, oldest), oldest);
        assertThatThrownBy(() -> replica.promoteTo(oldest - 3, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("oldest recoverable seq " + oldest);
        assertThat(replica.isPromoted()).isFalse();
    }

    @Test
    void shouldReleaseUndoSegmentsOlderThanTheOldestRetainedPoint() throws Exception {
        RecoveryPoints.Policy keepLittle = new RecoveryPoints.Policy(Duration.ofNanos(1), Duration.ofNanos(1));
        GroupReplica replica = GroupReplica.open(dataDir, GROUP, clock, SMALL, keepLittle);
        opened.add(replica);
        replica.attachVolumes(VOLUMES);
        applyUpTo(replica, 600);

        assertThat(replica.oldestRecoverableSeq()).as("undo kept only for retained points").isGreaterThan(500);
        assertThat(replica.undoBytes()).isLessThan(64 << 10);
    }
}
