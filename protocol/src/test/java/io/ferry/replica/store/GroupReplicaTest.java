package io.ferry.replica.store;

import static io.ferry.replica.store.DeltaWorkload.GROUP;
import static io.ferry.replica.store.DeltaWorkload.RECORDS_PER_DELTA;
import static io.ferry.replica.store.DeltaWorkload.VOLUMES;
import static io.ferry.replica.store.ReplicaAssertions.assertReplicasAt;
import static io.ferry.replica.store.ReplicaAssertions.liveThreads;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.ferry.delta.DeltaEncoder;
import io.ferry.delta.DeltaFormat;
import io.ferry.replica.apply.Applier;
import io.ferry.replica.journal.DeltaJournal;
import io.ferry.time.EpochNanoClock;
import io.ferry.wire.BlockDiff;
import io.ferry.wire.BlockHashes;
import io.ferry.wire.Frames;
import io.ferry.wire.GroupAck;
import io.ferry.wire.SyncMark;
import io.ferry.wire.VolumeInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupReplicaTest {
    private static final EpochNanoClock CLOCK = () -> 1_700_000_000_000_000_000L;
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** Small segments, so that a few deltas roll and release segments. */
    private static final GroupReplica.Options SMALL = new GroupReplica.Options(new DeltaJournal.Options(4 << 10),
            256 << 10, Applier.Options.defaults(), JournalRetention.RELEASE_APPLIED);

    @TempDir
    Path dataDir;

    private final DeltaWorkload workload = new DeltaWorkload();
    private final List<GroupReplica> opened = new ArrayList<>();

    @AfterEach
    void closeAll() {
        opened.forEach(GroupReplica::close);
    }

    private GroupReplica open() throws IOException {
        return open(SMALL);
    }

    private GroupReplica open(GroupReplica.Options options) throws IOException {
        GroupReplica replica = GroupReplica.open(dataDir, GROUP, CLOCK, options);
        opened.add(replica);
        return replica;
    }

    /** Appends deltas of {@link RECORDS_PER_DELTA} seqs from receivedSeq + 1 until {@code lastSeq}. */
    private void appendUpTo(GroupReplica replica, long lastSeq, List<long[]> durableCalls) {
        for (long first = replica.receivedSeq() + 1; first <= lastSeq; first += RECORDS_PER_DELTA) {
            long last = DeltaWorkload.lastSeqOfDeltaFrom(first);
            long deltaLast = last;
            replica.append(workload.body(first, last), first, last, DeltaWorkload.captureNanosOf(last),
                    durable -> durableCalls.add(new long[] {deltaLast, durable, replica.durableSeq()}));
        }
    }

    @Test
    void shouldReportDurableInAppendOrderAndApplyDeltasToTheReplicas() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        List<long[]> calls = new CopyOnWriteArrayList<>();

        appendUpTo(replica, 90, calls);

        assertThat(replica.receivedSeq()).isEqualTo(90);
        await().atMost(WAIT).until(() -> calls.size() == 30);
        long previous = 0;
        for (long[] call : calls) {
            long deltaLast = call[0];
            long reported = call[1];
            long durableWhenCalled = call[2];
            assertThat(reported).as("onDurable of the delta ending at %d", deltaLast)
                    .isGreaterThanOrEqualTo(deltaLast).isGreaterThanOrEqualTo(previous)
                    .isLessThanOrEqualTo(durableWhenCalled);
            previous = reported;
        }
        assertThat(calls).extracting(call -> call[0]).isSorted();
        assertThat(replica.durableSeq()).isEqualTo(90);
        assertThat(replica.lastDurableCaptureNanos()).isEqualTo(DeltaWorkload.captureNanosOf(90));
        assertThat(replica.awaitApplied(90, WAIT)).isTrue();
        assertThat(replica.appliedSeq()).isEqualTo(90);
        assertThat(replica.lastAppliedCaptureNanos()).isEqualTo(DeltaWorkload.captureNanosOf(90));
        assertThat(replica.failure()).isNull();
        assertReplicasAt(replica, 90);
    }

    @Test
    void shouldAskAnAgentToSyncUntilTheSyncEndsAndRefuseAnotherGeneration() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        assertThat(replica.consistent()).as("a group no agent has attached to has nothing to be inconsistent"
                + " with").isTrue();
        assertThat(replica.admit(77)).isEqualTo(GroupAck.STATUS_SYNC_EMPTY);
        assertThat(replica.consistent()).isFalse();
        assertThat(replica.admit(77)).as("asked again until the sync ended").isEqualTo(GroupAck.STATUS_SYNC_EMPTY);

        List<long[]> calls = new CopyOnWriteArrayList<>();
        appendUpTo(replica, 30, calls);
        replica.syncMark(new SyncMark(GROUP, 0, SyncMark.BEGIN, SyncMark.INITIAL, 1 << 20, 0));
        replica.syncMark(new SyncMark(GROUP, 30, SyncMark.END, SyncMark.INITIAL, 1 << 20, 1 << 20));
        await().atMost(WAIT).until(replica::consistent);
        assertThat(replica.lastConsistentSeq()).isEqualTo(30);
        assertThat(replica.syncProgress()).isNull();
        assertThat(replica.points().list()).as("a point where the copy became consistent")
                .anyMatch(p -> p.seq() == 30 && p.kind().equals(RecoveryPoints.AUTO));
        assertThat(replica.admit(77)).isEqualTo(GroupAck.STATUS_OK);
        assertThatThrownBy(() -> replica.admit(78)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("data generation").hasMessageContaining("Nothing is applied");

        replica.close();
        GroupReplica reopened = open();
        assertThat(reopened.consistent()).isTrue();
        assertThat(reopened.admit(77)).isEqualTo(GroupAck.STATUS_OK);
    }

    /**
     * A resync after bitmap mode: its BEGIN is persisted before any later seq is durable, the gap
     * of folded seqs applies as nothing, no point is taken inside it, the last consistent point
     * survives a restart, and a promote during it rolls the replicas back to exactly that point.
     */
    @Test
    void shouldKeepTheLastConsistentPointThroughAResyncAndPromoteToIt() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        assertThat(replica.admit(77)).isEqualTo(GroupAck.STATUS_SYNC_EMPTY);
        List<long[]> calls = new CopyOnWriteArrayList<>();
        appendUpTo(replica, 30, calls);
        replica.syncMark(new SyncMark(GROUP, 0, SyncMark.BEGIN, SyncMark.INITIAL, 1 << 20, 0));
        replica.syncMark(new SyncMark(GROUP, 30, SyncMark.END, SyncMark.INITIAL, 1 << 20, 1 << 20));
        await().atMost(WAIT).until(() -> replica.consistent() && replica.appliedSeq() == 30);

        replica.syncMark(new SyncMark(GROUP, 30, SyncMark.BEGIN, SyncMark.RESYNC, 64 << 10, 0));
        replica.append(workload.gapBody(31, 33), 31, 33, DeltaWorkload.captureNanosOf(33), durable -> { });
        appendUpTo(replica, 45, calls);
        await().atMost(WAIT).until(() -> replica.appliedSeq() == 45);
        assertThat(replica.consistent()).isFalse();
        assertThat(replica.resyncing()).isTrue();
        assertThat(replica.lastConsistentSeq()).isEqualTo(30);
        assertThat(replica.points().list()).as("no point inside a resync").allMatch(p -> p.seq() <= 30);
        assertThat(replica.admit(77)).as("a resync is the agent's to finish, not a new sync")
                .isEqualTo(GroupAck.STATUS_OK);

        replica.close();
        GroupReplica reopened = open();
        assertThat(reopened.resyncing()).as("the resync survives a restart").isTrue();
        assertThat(reopened.lastConsistentSeq()).isEqualTo(30);
        assertThat(reopened.oldestRecoverableSeq()).isLessThanOrEqualTo(30);
        assertThat(reopened.awaitApplied(45, WAIT)).isTrue();
        reopened.promoteTo(30, CLOCK.epochNanos());
        assertReplicasAt(reopened, 30);
        assertThat(reopened.consistent()).isTrue();
        assertThat(reopened.lastConsistentSeq()).isEqualTo(30);
    }

    /**
     * Hashes are compared at exactly their seq: the applier stops there although later deltas are
     * durable, so the answer shows the replica as the agent's volume was at that seq.
     */
    @Test
    void shouldCompareHashesAtExactlyTheirSeqAndReportTheBlocksThatDiffer() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        List<long[]> calls = new CopyOnWriteArrayList<>();
        appendUpTo(replica, 15, calls);
        byte[] at15 = DeltaWorkload.expectedImages(15)[0];
        int block = 64 << 10;
        byte[] hashes = new byte[(at15.length / block) * BlockHashes.HASH_BYTES];
        io.ferry.volume.BlockHasher hasher = new io.ferry.volume.BlockHasher();
        for (int i = 0; i < at15.length / block; i++) {
            hasher.hash(ByteBuffer.wrap(at15), i * block, block, hashes, i * BlockHashes.HASH_BYTES);
        }
        hashes[3 * BlockHashes.HASH_BYTES] ^= 1; // the agent's block 3 differs from what the replica holds
        java.util.concurrent.CompletableFuture<BlockDiff> reply = new java.util.concurrent.CompletableFuture<>();
        replica.compareHashes(new BlockHashes(GROUP, 15, 0, 0, block, hashes), reply::complete);
        appendUpTo(replica, 30, calls); // durable, but not applied before the compare

        BlockDiff diff = reply.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(diff.ranges()).containsExactly(new BlockDiff.Range(3L * block, block));
        assertThat(diff.end()).isEqualTo(at15.length);
        assertThat(replica.awaitApplied(30, WAIT)).as("applying goes on after the compare").isTrue();
        assertReplicasAt(replica, 30);
    }

    /** A replica image lost under a group that follows an agent: made anew, and the group asks for a checksum sync. */
    @Test
    void shouldMakeALostReplicaAnewAndAskForAChecksumSyncWithoutItsPoints() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        assertThat(replica.admit(9)).isEqualTo(GroupAck.STATUS_SYNC_EMPTY);
        appendUpTo(replica, 30, new CopyOnWriteArrayList<>());
        replica.syncMark(new SyncMark(GROUP, 30, SyncMark.END, SyncMark.INITIAL, 0, 0));
        await().atMost(WAIT).until(() -> replica.consistent() && !replica.points().list().isEmpty());
        replica.close();
        Files.delete(dataDir.resolve("replicas").resolve(GROUP).resolve(VOLUMES.get(1).name() + ".img"));

        GroupReplica reopened = open();
        assertThat(reopened.consistent()).isFalse();
        assertThat(reopened.points().list()).as("no point survives on a replica made anew").isEmpty();
        assertThat(reopened.admit(9)).isEqualTo(GroupAck.STATUS_SYNC_ALL);
        assertThat(Files.size(reopened.replicaPath(VOLUMES.get(1).name()))).isEqualTo(VOLUMES.get(1).sizeBytes());
        assertThat(reopened.appliedSeq()).isEqualTo(30);
    }

    /** Many hashes at one seq, handed in while the applier already answers: none is lost, all in order. */
    @Test
    void shouldAnswerEveryHashesInTheOrderTheyCame() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 15, new CopyOnWriteArrayList<>());
        int block = 64 << 10;
        List<Long> answered = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 400; i++) {
            long offset = (long) (i % 16) * block;
            replica.compareHashes(new BlockHashes(GROUP, 15, 0, offset, block, new byte[BlockHashes.HASH_BYTES]),
                    diff -> answered.add(diff.offset()));
        }
        await().atMost(WAIT).until(() -> answered.size() == 400);
        for (int i = 0; i < 400; i++) {
            assertThat(answered.get(i)).as("answer %d", i).isEqualTo((long) (i % 16) * block);
        }
    }

    @Test
    void shouldSyncEveryRegionOfAReplicaThatHeldDataBeforeAndKeepAskingAfterARestart() throws Exception {
        Path replicas = Files.createDirectories(dataDir.resolve("replicas").resolve(GROUP));
        for (VolumeInfo volume : VOLUMES) {
            try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(
                    replicas.resolve(volume.name() + ".img").toFile(), "rw")) {
                file.setLength(volume.sizeBytes());
                file.write(new byte[] {1, 2, 3}); // a seeded replica: the operator placed it there
            }
        }
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        assertThat(replica.admit(5)).isEqualTo(GroupAck.STATUS_SYNC_ALL);
        replica.close();
        GroupReplica reopened = open();
        assertThat(reopened.consistent()).isFalse();
        assertThat(reopened.admit(5)).isEqualTo(GroupAck.STATUS_SYNC_ALL);
    }

    @Test
    void shouldCreateSparseReplicasAtTheAnnouncedSizes() throws Exception {
        GroupReplica replica = open();
        assertThat(replica.volumes()).isEmpty();
        replica.attachVolumes(VOLUMES);

        assertThat(replica.volumes()).isEqualTo(VOLUMES);
        for (VolumeInfo volume : VOLUMES) {
            Path path = dataDir.resolve("replicas").resolve(GROUP).resolve(volume.name() + ".img");
            assertThat(replica.replicaPath(volume.name())).isEqualTo(path);
            assertThat(Files.size(path)).isEqualTo(volume.sizeBytes());
        }
        assertThat(replica.generationId()).isNotZero();
        assertReplicasAt(replica, 0);
    }

    @Test
    void shouldRefuseAVolumeListThatDiffersFromTheAttachedOne() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        replica.attachVolumes(List.copyOf(VOLUMES)); // the same list again is fine

        assertThatThrownBy(() -> replica.attachVolumes(List.of(VOLUMES.get(1), VOLUMES.get(0))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("volume 0 is \"log\", expected \"data\"");
        assertThatThrownBy(() -> replica.attachVolumes(List.of(VOLUMES.get(0), new VolumeInfo("log", 4096))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("volume \"log\" is 4096 bytes, expected " + VOLUMES.get(1).sizeBytes());
        assertThatThrownBy(() -> replica.attachVolumes(List.of(VOLUMES.get(0))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("1 volumes announced, expected 2");

        replica.close();
        GroupReplica reopened = open();
        assertThat(reopened.volumes()).isEqualTo(VOLUMES);
        assertThatThrownBy(() -> reopened.attachVolumes(List.of(new VolumeInfo("other", 4096))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("\"other\"");
    }

    @Test
    void shouldRefuseAppendBeforeTheVolumesAreAttached() throws Exception {
        GroupReplica replica = open();
        ByteBuf body = workload.body(1, 3);

        assertThatThrownBy(() -> replica.append(body, 1, 3, 0, durable -> { }))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("before the volumes were attached");
        assertThat(body.refCnt()).as("the body is released on refusal").isZero();
    }

    @Test
    void shouldRefuseASequenceGapAndADeltaWhoseBodyDisagrees() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 3, new CopyOnWriteArrayList<>());

        ByteBuf gap = workload.body(5, 7);
        assertThatThrownBy(() -> replica.append(gap, 5, 7, 0, durable -> { }))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must start at seq 4");
        assertThat(gap.refCnt()).isZero();

        ByteBuf mislabelled = workload.body(4, 6);
        assertThatThrownBy(() -> replica.append(mislabelled, 4, 9, 0, durable -> { }))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds seqs 4..6");
        assertThat(mislabelled.refCnt()).isZero();
        assertThat(replica.receivedSeq()).isEqualTo(3);
    }

    @Test
    void shouldResumeDurableAndAppliedSeqsAndGenerationAfterReopen() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 30, new CopyOnWriteArrayList<>());
        assertThat(replica.awaitApplied(30, WAIT)).isTrue();
        long generation = replica.generationId();
        replica.close();

        GroupReplica reopened = open();
        assertThat(reopened.generationId()).isEqualTo(generation);
        assertThat(reopened.receivedSeq()).isEqualTo(30);
        assertThat(reopened.durableSeq()).isEqualTo(30);
        assertThat(reopened.appliedSeq()).isEqualTo(30);
        assertThat(reopened.lastDurableCaptureNanos()).isEqualTo(DeltaWorkload.captureNanosOf(30));
        assertThat(reopened.volumes()).isEqualTo(VOLUMES);

        reopened.attachVolumes(VOLUMES);
        appendUpTo(reopened, 60, new CopyOnWriteArrayList<>());
        assertThat(reopened.awaitApplied(60, WAIT)).isTrue();
        assertReplicasAt(reopened, 60);
    }

    @Test
    void shouldReplayDeltasThatWereAppliedButNotPersistedAfterACrash() throws Exception {
        // the journal is released only after the applied seq is persisted: keep all of it here
        GroupReplica replica = open(new GroupReplica.Options(new DeltaJournal.Options(4 << 10), 256 << 10,
                Applier.Options.defaults(), applied -> 0));
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 30, new CopyOnWriteArrayList<>());
        assertThat(replica.awaitApplied(30, WAIT)).isTrue();
        replica.close();
        // The crash: seqs 13..30 reached the replicas, partly (garbage where a write was torn),
        // but the applied seq on disk is still 12.
        Path groupDir = dataDir.resolve("groups").resolve(GROUP);
        Path stateFile = groupDir.resolve(GroupState.FILE);
        GroupStateStore.write(stateFile, GroupState.read(stateFile, GROUP).withApplied(12, DeltaWorkload.captureNanosOf(12)));
        for (long seq = 13; seq <= 30; seq++) {
            scribble(dataDir.resolve("replicas").resolve(GROUP)
                    .resolve(VOLUMES.get(DeltaWorkload.volumeOf(seq)).name() + ".img"),
                    DeltaWorkload.offsetOf(seq), DeltaWorkload.lengthOf(seq) / 2);
        }

        GroupReplica reopened = open();
        assertThat(reopened.durableSeq()).isEqualTo(30);
        assertThat(reopened.awaitApplied(30, WAIT)).isTrue();
        assertThat(reopened.failure()).isNull();
        assertReplicasAt(reopened, 30);
        assertThat(GroupState.read(groupDir.resolve(GroupState.FILE), GROUP).appliedSeq()).isEqualTo(30);
    }

    private static void scribble(Path file, long offset, int length) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer garbage = ByteBuffer.allocate(length);
            while (garbage.hasRemaining()) {
                garbage.put((byte) 0x5A);
            }
            garbage.flip();
            channel.write(garbage, offset);
        }
    }

    @Test
    void shouldStopApplyingAtACorruptDeltaWithoutWritingIt() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 6, new CopyOnWriteArrayList<>());
        ByteBuf corrupt = workload.body(7, 9);
        int last = corrupt.writerIndex() - 1;
        corrupt.setByte(last, corrupt.getByte(last) ^ 0x01); // the data no longer matches its xxHash64
        replica.append(corrupt, 7, 9, 0, durable -> { });
        appendUpTo(replica, 12, new CopyOnWriteArrayList<>());

        await().atMost(WAIT).until(() -> replica.failure() != null);
        assertThat(replica.failure()).contains("seqs 7..9");
        assertThat(replica.durableSeq()).isEqualTo(12);
        assertThat(replica.appliedSeq()).isEqualTo(6);
        assertThat(replica.awaitApplied(12, WAIT)).isFalse();
        assertReplicasAt(replica, 6);
    }

    @Test
    void shouldStopApplyingADeltaWithAnExtentOutsideTheReplicasWithoutWritingAnyOfIt() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 3, new CopyOnWriteArrayList<>());
        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin(GROUP, DeltaWorkload.EPOCH);
        encoder.add(0, DeltaFormat.WRITE, 0, 4096, 4, 0, ByteBuffer.allocate(4096)); // would zero the start
        encoder.add(2, DeltaFormat.WRITE, 0, 4096, 5, 0, ByteBuffer.allocate(4096)); // no volume 2
        ByteBuf body = encoder.encode(ByteBufAllocator.DEFAULT).skipBytes(Frames.HEADER_BYTES);
        replica.append(body, 4, 5, 0, durable -> { });

        await().atMost(WAIT).until(() -> replica.failure() != null);
        assertThat(replica.failure()).contains("volume index 2").contains("nothing of it was applied");
        assertThat(replica.appliedSeq()).isEqualTo(3);
        assertReplicasAt(replica, 3);
    }

    @Test
    void shouldRunCommandsOnTheApplierThreadEvenAfterApplyingFailedAndRefuseThemOnceClosed() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 3, new CopyOnWriteArrayList<>());
        assertThat(replica.awaitApplied(3, WAIT)).isTrue();
        String[] ranOn = new String[1];
        replica.betweenBatches(() -> ranOn[0] = Thread.currentThread().getName());
        assertThat(ranOn[0]).isEqualTo("ferry-apply-" + GROUP);

        DeltaEncoder encoder = new DeltaEncoder();
        encoder.begin(GROUP, DeltaWorkload.EPOCH);
        encoder.add(3, DeltaFormat.WRITE, 0, 4096, 4, 0, ByteBuffer.allocate(4096)); // no volume 3
        replica.append(encoder.encode(ByteBufAllocator.DEFAULT).skipBytes(Frames.HEADER_BYTES), 4, 4, 0,
                durable -> { });
        await().atMost(WAIT).until(() -> replica.failure() != null);

        replica.persistBookmark(3, "after-failure").get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertThat(replica.points().list()).anySatisfy(p -> assertThat(p.label()).isEqualTo("after-failure"));
        assertThatThrownBy(() -> replica.startDrill(3, dataDir.resolve("drill")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("failed");

        replica.close();
        assertThat(replica.persistBookmark(3, "too-late")).failsWithin(WAIT)
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldAnswerWhenDurableOnceEverythingAppendedBeforeIsSynced() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 45, new CopyOnWriteArrayList<>());
        AtomicLong answered = new AtomicLong(-1);

        replica.whenDurable(answered::set);

        await().atMost(WAIT).until(() -> answered.get() == 45);
    }

    @Test
    void shouldReleaseJournalSegmentsOnceApplied() throws Exception {
        GroupReplica replica = open();
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 60, new CopyOnWriteArrayList<>());
        assertThat(replica.awaitApplied(60, WAIT)).isTrue();

        await().atMost(WAIT).until(() -> segmentCount() == 1);
        replica.close();
        GroupReplica reopened = open();
        assertThat(reopened.durableSeq()).isEqualTo(60);
        assertThat(reopened.appliedSeq()).isEqualTo(60);
    }

    @Test
    void shouldKeepJournalSegmentsTheRetentionHolds() throws Exception {
        GroupReplica replica = open(new GroupReplica.Options(new DeltaJournal.Options(4 << 10), 256 << 10,
                Applier.Options.defaults(), applied -> 0));
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 60, new CopyOnWriteArrayList<>());
        assertThat(replica.awaitApplied(60, WAIT)).isTrue();

        assertThat(segmentCount()).isGreaterThan(1);
    }

    private long segmentCount() throws IOException {
        try (Stream<Path> entries = Files.list(dataDir.resolve("groups").resolve(GROUP).resolve("journal"))) {
            return entries.filter(p -> p.getFileName().toString().endsWith(".cq4")).count();
        }
    }

    @Test
    void shouldLeaveNoThreadRunningAfterClose() throws Exception {
        Set<String> before = liveThreads();
        GroupReplica replica = GroupReplica.open(dataDir, GROUP, CLOCK, SMALL);
        replica.attachVolumes(VOLUMES);
        appendUpTo(replica, 30, new CopyOnWriteArrayList<>());
        assertThat(replica.awaitApplied(30, WAIT)).isTrue();
        replica.close();
        replica.close(); // idempotent

        await().pollInSameThread().atMost(WAIT).untilAsserted(() -> {
            Set<String> leftover = liveThreads();
            leftover.removeAll(before);
            assertThat(leftover).as("threads started by the group").isEmpty();
        });
        assertThat(liveThreads()).as("Chronicle threads (named with ~)").noneMatch(name -> name.contains("~"));
        assertThatThrownBy(() -> replica.append(workload.body(31, 33), 31, 33, 0, durable -> { }))
                .isInstanceOf(IllegalStateException.class);
    }
}
