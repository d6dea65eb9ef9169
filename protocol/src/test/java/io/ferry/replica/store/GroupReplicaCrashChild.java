package io.ferry.replica.store;

import io.ferry.replica.apply.Applier;
import io.ferry.replica.journal.DeltaJournal;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs in a child JVM for {@link GroupReplicaCrashTest}: opens the group in {@code args[0]},
 * appends the {@link DeltaWorkload} from its received seq on, forever, and prints
 * {@code durable <seq>} from each onDurable callback, until it is killed.
 */
public final class GroupReplicaCrashChild {
    static final GroupReplica.Options OPTIONS = new GroupReplica.Options(new DeltaJournal.Options(16 << 10),
            1 << 20, Applier.Options.defaults(), JournalRetention.RELEASE_APPLIED,
            new io.ferry.replica.undo.UndoLog.Options(64 << 10, 16 << 10), GroupReplica.Options.DEFAULT_UNDO_MAX_BYTES);
    private static final long MAX_QUEUED_BYTES = 2 << 20;

    private GroupReplicaCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        GroupReplica replica = GroupReplica.open(Path.of(args[0]), DeltaWorkload.GROUP, () -> 0L, OPTIONS);
        replica.attachVolumes(DeltaWorkload.VOLUMES);
        DeltaWorkload workload = new DeltaWorkload();
        System.out.println("started " + replica.durableSeq());
        System.out.flush();
        while (true) {
            while (replica.queuedAppendBytes() > MAX_QUEUED_BYTES) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
            long first = replica.receivedSeq() + 1;
            long last = DeltaWorkload.lastSeqOfDeltaFrom(first);
            replica.append(workload.body(first, last), first, last, DeltaWorkload.captureNanosOf(last), durable -> {
                System.out.println("durable " + durable);
                System.out.flush();
            });
        }
    }
}
