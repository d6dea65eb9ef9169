package io.ferry.capture.activity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.capture.bitmap.DirtyMap;
import io.ferry.capture.journal.Journal;
import io.ferry.capture.pipeline.InMemoryJournal;
import io.ferry.volume.VolumeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The activity log: an extent is synced into the log once, before its first write; an extent
 * leaves it only when its writes are synced (the log forces a sync when every slot is busy); a
 * log from another boot names its extents for a resync, one from the same boot does not; a
 * clean close empties it.
 */
class ActivityLogTest {
    private static final long X = ActivityLog.EXTENT_BYTES;

    @TempDir
    Path dir;

    @Test
    void shouldSyncTheLogOnlyBeforeTheFirstWriteToAColdExtent() throws IOException {
        try (ActivityLog log = ActivityLog.open(dir, "g", 8, "boot-1")) {
            long before = log.transactions();
            log.touch(0, 0, 4096);
            log.touch(0, 8192, 4096);
            log.touch(0, X - 4096, 4096);
            assertThat(log.transactions() - before).as("one extent, one sync").isEqualTo(1);
            log.touch(0, X - 4096, 8192); // crosses into the next extent
            assertThat(log.transactions() - before).isEqualTo(2);
            assertThat(log.usedSlots()).isEqualTo(2);
            log.touch(1, 0, 4096); // another volume, the same extent index
            assertThat(log.usedSlots()).isEqualTo(3);
        }
        assertThat(Files.getPosixFilePermissions(ActivityLog.path(dir, "g")))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    }

    @Test
    void shouldEvictOnlyExtentsWhoseWritesAreSyncedAndForceASyncWhenNoneIs() throws IOException {
        AtomicInteger forced = new AtomicInteger();
        try (ActivityLog log = ActivityLog.open(dir, "g", 2, "boot-1")) {
            log.syncAll(forced::incrementAndGet);
            log.touch(0, 0, 4096);
            long second = log.touch(0, X, 4096);
            log.touch(0, 2 * X, 4096);
            assertThat(forced).as("both slots held unsynced writes").hasValue(1);
            log.synced(log.writes());
            log.touch(0, 3 * X, 4096);
            assertThat(forced).as("a synced extent is evicted without a sync").hasValue(1);
            assertThat(second).isEqualTo(2);
        }
    }

    @Test
    void shouldNameItsExtentsForAResyncOnlyWhenOpenedInAnotherBoot() throws IOException {
        ActivityLog log = ActivityLog.open(dir, "g", 8, "boot-1");
        log.touch(0, 0, 4096);
        log.touch(1, 5 * X + 12, 100);
        abandon(log); // a crash: no clean close

        try (ActivityLog same = ActivityLog.open(dir, "g", 8, "boot-1")) {
            assertThat(same.hostCrashExtents()).as("the page cache survived a process crash").isEmpty();
            assertThat(same.foundAtOpen()).hasSize(2);
            assertThat(same.usedSlots()).as("kept until a sync covers them").isEqualTo(2);
            abandon(same);
        }
        try (ActivityLog other = ActivityLog.open(dir, "g", 8, "boot-2")) {
            assertThat(other.hostCrashExtents()).containsExactlyInAnyOrder(
                    new ActivityLog.Extent(0, 0, X), new ActivityLog.Extent(1, 5 * X, X));
        }
    }

    @Test
    void shouldLeaveNothingToResyncAfterACleanClose() throws IOException {
        try (ActivityLog log = ActivityLog.open(dir, "g", 8, "boot-1")) {
            log.touch(0, 0, 4096);
            log.synced(log.writes());
        }
        try (ActivityLog log = ActivityLog.open(dir, "g", 8, "boot-2")) {
            assertThat(log.foundAtOpen()).isEmpty();
            assertThat(log.hostCrashExtents()).isEmpty();
        }
    }

    @Test
    void shouldKeepItsExtentsAtACloseWithUnsyncedWrites() throws IOException {
        try (ActivityLog log = ActivityLog.open(dir, "g", 8, "boot-1")) {
            log.touch(0, 0, 4096);
        }
        try (ActivityLog log = ActivityLog.open(dir, "g", 8, "boot-2")) {
            assertThat(log.hostCrashExtents()).hasSize(1);
        }
    }

    @Test
    void shouldRefuseAnotherGroupsLogOrAFileThatIsNoLog() throws IOException {
        ActivityLog.open(dir, "g", 8, "boot-1").close();
        Files.move(ActivityLog.path(dir, "g"), ActivityLog.path(dir, "h"));
        assertThatThrownBy(() -> ActivityLog.open(dir, "h", 8, "boot-1")).isInstanceOf(IOException.class)
                .hasMessageContaining("belongs to group 'g'");
        Files.write(ActivityLog.path(dir, "x"), new byte[8192]);
        assertThatThrownBy(() -> ActivityLog.open(dir, "x", 8, "boot-1")).isInstanceOf(IOException.class)
                .hasMessageContaining("not an activity log");
    }

    @Test
    void shouldWriteTheLastJournalRecordAgainAfterAProcessCrashAndMarkNothing() throws IOException {
        Path volume = dir.resolve("a.img");
        InMemoryJournal journal = new InMemoryJournal();
        byte[] first = filled(1, 4096);
        byte[] last = filled(2, 4096);
        journal.append("a", 1, 0, 4096, 1, Journal.WRITE, ByteBuffer.wrap(first));
        journal.append("a", 2, 8192, 4096, 2, Journal.WRITE, ByteBuffer.wrap(last));
        ActivityLog log = ActivityLog.open(dir.resolve("al"), "g", 8, "boot-1");
        log.touch(0, 0, 4096);
        abandon(log); // killed between the journal append of seq 2 and its volume write
        List<String> persisted = new ArrayList<>();
        try (VolumeFile file = VolumeFile.openOrCreate(volume, 1 << 20);
             DirtyMap dirty = DirtyMap.open(dir.resolve("bitmap"), "g", List.of(1L << 20));
             ActivityLog again = ActivityLog.open(dir.resolve("al"), "g", 8, "boot-1")) {
            CrashRecovery.Mode mode = CrashRecovery.recover("g", again, dirty, journal, List.of("a"), List.of(file),
                    (b, f, s, c) -> persisted.add(b + "@" + f), new CrashRecovery.Mode(false, 0, 0, false), 1);
            assertThat(mode.crashRecovery()).isFalse();
            assertThat(dirty.isEmpty()).isTrue();
            assertThat(persisted).isEmpty();
            ByteBuffer read = ByteBuffer.allocate(4096);
            file.read(8192, read);
            assertThat(read.array()).as("the last record reached its volume").isEqualTo(last);
        }
    }

    @Test
    void shouldFoldTheJournalAndMarkTheExtentsAfterAHostCrash() throws IOException {
        InMemoryJournal journal = new InMemoryJournal();
        journal.append("a", 1, 3 * X, 4096, 1, Journal.WRITE, ByteBuffer.wrap(filled(1, 4096)));
        ActivityLog log = ActivityLog.open(dir.resolve("al"), "g", 8, "boot-1");
        log.touch(0, X + 4096, 4096);
        abandon(log);
        List<String> persisted = new ArrayList<>();
        try (VolumeFile file = VolumeFile.openOrCreate(dir.resolve("a.img"), 4 * X);
             DirtyMap dirty = DirtyMap.open(dir.resolve("bitmap"), "g", List.of(4 * X));
             ActivityLog again = ActivityLog.open(dir.resolve("al"), "g", 8, "boot-2")) {
            CrashRecovery.Mode mode = CrashRecovery.recover("g", again, dirty, journal, List.of("a"), List.of(file),
                    (b, f, s, c) -> persisted.add(b + "@" + f + (c ? " crash" : "")),
                    new CrashRecovery.Mode(false, 0, 0, false), 1);
            assertThat(mode).isEqualTo(new CrashRecovery.Mode(true, 1, 1, true));
            assertThat(persisted).containsExactly("true@1 crash");
            assertThat(dirty.dirtyBytes()).as("the extent and the journal record").isEqualTo(X + 4096);
            assertThat(dirty.nextMarked(0, 0)).isEqualTo(X);
            assertThat(again.usedSlots()).as("emptied once the marks are durable").isZero();
        }
        try (ActivityLog third = ActivityLog.open(dir.resolve("al"), "g", 8, "boot-3")) {
            assertThat(third.foundAtOpen()).isEmpty();
        }
    }

    /** Closes the log's file as a crash would: without emptying it. */
    private static void abandon(ActivityLog log) throws IOException {
        log.closeAsCrashed();
    }

    private static byte[] filled(int value, int length) {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte) value);
        return bytes;
    }
}
