package io.ferry.replica.store;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs in a child JVM for {@link PromoteCrashTest}: opens the group in {@code args[0]}, appends
 * the {@link DeltaWorkload} up to seq {@code args[1]}, waits until it is applied, prints
 * {@code generation <id>} and {@code promoting <seq>}, marks the group promoted (rolled back to a
 * bookmark set half way, printed as {@code point <seq>}, when {@code args[2]} is given), prints
 * {@code promoted <new id>} and then waits to be killed.
 */
public final class PromoteCrashChild {

    private PromoteCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        long target = Long.parseLong(args[1]);
        GroupReplica replica = GroupReplica.open(Path.of(args[0]), DeltaWorkload.GROUP, () -> 0L,
                GroupReplicaCrashChild.OPTIONS);
        replica.attachVolumes(DeltaWorkload.VOLUMES);
        DeltaWorkload workload = new DeltaWorkload();
        boolean bookmarked = args.length <= 2;
        while (replica.receivedSeq() < target) {
            if (!bookmarked && replica.receivedSeq() >= target / 2) {
                if (!replica.awaitApplied(replica.receivedSeq(), Duration.ofMinutes(2))) {
                    throw new IllegalStateException("not applied: " + replica.failure());
                }
                replica.points().bookmark(replica.receivedSeq(), "half");
                bookmarked = true;
            }
            while (replica.queuedAppendBytes() > (2 << 20)) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
            long first = replica.receivedSeq() + 1;
            long last = DeltaWorkload.lastSeqOfDeltaFrom(first);
            replica.append(workload.body(first, last), first, last, DeltaWorkload.captureNanosOf(last), durable -> {
            });
        }
        long last = replica.receivedSeq();
        if (!replica.awaitApplied(last, Duration.ofMinutes(2))) {
            throw new IllegalStateException("not applied: " + replica.failure());
        }
        System.out.println("generation " + replica.generationId());
        System.out.println("promoting " + last);
        System.out.flush();
        long generation;
        if (args.length > 2) {
            long point = replica.points().list().stream().filter(p -> "half".equals(p.label())).findFirst()
                    .orElseThrow().seq();
            System.out.println("point " + point);
            System.out.flush();
            generation = replica.promoteTo(point, 1);
        } else {
            generation = replica.markPromoted(1);
        }
        System.out.println("promoted " + generation);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
