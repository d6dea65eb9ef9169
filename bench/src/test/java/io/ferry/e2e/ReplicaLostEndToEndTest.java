package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.agent.AgentNode;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica image lost at the DR site (deleted while the receiver was down): the receiver makes
 * it anew, is not consistent, and the agent's checksum sync brings it back, the other replica
 * untouched by data it already held.
 */
class ReplicaLostEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    java.nio.file.Path dir;

    @Test
    void shouldResyncAReplicaImageThatWasLostWhileTheReceiverWasDown() throws Exception {
        Site site = new Site(dir);
        Random random = new Random(3);
        for (String volume : new String[] {"db-data", "db-log"}) {
            try (RandomAccessFile file = new RandomAccessFile(site.primary(volume).toFile(), "rw")) {
                file.setLength(Site.VOLUME_BYTES);
                byte[] data = new byte[3 << 20];
                random.nextBytes(data);
                file.seek(17L << 20);
                file.write(data);
            }
        }
        int port = Site.freePort();
        try (AgentNode agent = Site.agent(site.agentConfig(port, "1s"))) {
            try (ReceiverNode receiver = Site.receiver(site.receiverConfig(port))) {
                GroupReplica replica = receiver.group("db");
                await().atMost(WAIT).until(() -> replica.state().sourceGenerationId() != 0 && replica.consistent()
                        && agent.shipper().group("db").sync() == null
                        && replica.appliedSeq() == agent.group("db").pipeline().capturedSeq());
                site.assertReplicasEqualPrimaries();
            }
            Files.delete(site.replica("db-log"));
            try (ReceiverNode receiver = Site.receiver(site.receiverConfig(port))) {
                GroupReplica replica = receiver.group("db");
                assertThat(replica.consistent()).as("a replica made anew is no copy yet").isFalse();
                await().atMost(WAIT).until(() -> replica.consistent() && agent.shipper().group("db").sync() == null
                        && replica.appliedSeq() == agent.group("db").pipeline().capturedSeq());
                site.assertReplicasEqualPrimaries();
            }
        }
    }
}
