package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.agent.AgentNode;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent whose dataDir was lost comes back with a new data generation. The receiver applies
 * nothing of it on top of the old replicas: it refuses the group, naming the generations and the
 * operator's way out, and the replicas stay the old, consistent copy. Once the operator moves the
 * receiver's group state aside (keeping the replica images), the agent's checksum sync sends only
 * what differs and the replicas equal the primaries again.
 */
class AgentStateLostEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void shouldRefuseANewGenerationOnAnOldReplicaUntilTheOperatorSaysThenSendOnlyWhatDiffers() throws Exception {
        Site site = new Site(dir);
        Random random = new Random(9);
        for (String volume : new String[] {"db-data", "db-log"}) {
            try (RandomAccessFile file = new RandomAccessFile(site.primary(volume).toFile(), "rw")) {
                file.setLength(Site.VOLUME_BYTES);
                byte[] data = new byte[4 << 20];
                random.nextBytes(data);
                file.seek(9L << 20);
                file.write(data);
            }
        }
        int port = Site.freePort();
        long oldGeneration;
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(port))) {
            GroupReplica replica = receiver.group("db");
            try (AgentNode agent = Site.agent(site.agentConfig(port, "1s"))) {
                await().atMost(WAIT).until(() -> replica.consistent() && agent.shipper().group("db").sync() == null
                        && replica.appliedSeq() == agent.group("db").pipeline().capturedSeq());
                site.assertReplicasEqualPrimaries();
                oldGeneration = replica.state().sourceGenerationId();
            }
        }
        byte[] oldCopy = Files.readAllBytes(site.replica("db-data"));

        // The agent's host is rebuilt: its dataDir is gone, and 64 KiB of a volume changed meanwhile.
        deleteTree(dir.resolve("agent"));
        byte[] changed = new byte[64 << 10];
        random.nextBytes(changed);
        try (RandomAccessFile file = new RandomAccessFile(site.primary("db-data").toFile(), "rw")) {
            file.seek(11L << 20);
            file.write(changed);
        }

        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(port));
             AgentNode agent = Site.agent(site.agentConfig(port, "1s"))) {
            GroupReplica replica = receiver.group("db");
            assertThat(agent.group("db").identity().generationId()).isNotEqualTo(oldGeneration);
            await().atMost(WAIT).until(() -> agent.shipper().linkProblem() != null
                    && agent.shipper().linkProblem().contains("is not the one the replicas follow"));
            assertThat(agent.shipper().linkProblem()).contains("<dataDir>/groups/db");
            assertThat(replica.state().sourceGenerationId()).isEqualTo(oldGeneration);
            assertThat(replica.consistent()).as("the old copy stays a consistent copy").isTrue();
            assertThat(Files.readAllBytes(site.replica("db-data"))).as("nothing applied on top").isEqualTo(oldCopy);
        }

        // The operator's word: the receiver's group state moves aside, the replica images stay.
        Files.move(dir.resolve("receiver/groups/db"), dir.resolve("receiver/db-state-before-rebuild"));
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(port));
             AgentNode agent = Site.agent(site.agentConfig(port, "1s"))) {
            GroupReplica replica = receiver.group("db");
            long newGeneration = agent.group("db").identity().generationId();
            await().atMost(WAIT).until(() -> replica.state().sourceGenerationId() == newGeneration
                    && replica.consistent() && agent.shipper().group("db").sync() == null
                    && replica.appliedSeq() == agent.group("db").pipeline().capturedSeq());
            site.assertReplicasEqualPrimaries();
            assertThat(agent.shipper().group("db").bytesShipped())
                    .as("a checksum sync: the changed 64 KiB travel, not the 8 MiB of data")
                    .isLessThan(1L << 20);
        }
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
