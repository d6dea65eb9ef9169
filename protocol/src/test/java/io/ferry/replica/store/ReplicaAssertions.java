package io.ferry.replica.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Set;
import java.util.stream.Collectors;

final class ReplicaAssertions {
    private ReplicaAssertions() {
    }

    /** The replicas of {@code replica} hold exactly the workload's state after {@code seq}. */
    static void assertReplicasAt(GroupReplica replica, long seq) throws IOException {
        byte[][] expected = DeltaWorkload.expectedImages(seq);
        for (int v = 0; v < expected.length; v++) {
            String name = DeltaWorkload.VOLUMES.get(v).name();
            byte[] actual = Files.readAllBytes(replica.replicaPath(name));
            assertThat(actual.length).as("size of replica %s", name).isEqualTo(expected[v].length);
            int firstDiff = -1;
            for (int i = 0; i < actual.length && firstDiff < 0; i++) {
                if (actual[i] != expected[v][i]) {
                    firstDiff = i;
                }
            }
            assertThat(firstDiff).as("first differing byte of replica %s after seq %d", name, seq).isEqualTo(-1);
        }
    }

    /** Names of live threads, without the JDK's process reaper (Chronicle runs `ldconfig -p` once). */
    static Set<String> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .filter(t -> !t.getName().startsWith("process reaper"))
                .map(t -> t.getName() + "#" + t.getId())
                .collect(Collectors.toSet());
    }
}
