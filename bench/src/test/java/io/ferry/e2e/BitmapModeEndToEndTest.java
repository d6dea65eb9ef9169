package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentMain;
import io.ferry.api.ApiClient;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import io.ferry.testing.ChildJvm;
import io.ferry.testing.Cmd;
import io.ferry.testing.Interop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An outage of four times {@code journal.maxBytes}: the agent's journal never holds more than
 * its bound (the group folds into its dirty map and goes on in bitmap mode), a kill -9 of the
 * agent in the middle of the outage loses no dirty region, a drill during the resync that
 * follows holds the generation written before the outage (never a half-synced image), and
 * after the resync the replicas equal the primaries, with the group back in journal mode.
 */
class BitmapModeEndToEndTest {
    private static final Logger LOG = LoggerFactory.getLogger(BitmapModeEndToEndTest.class);
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final long MAX_BYTES = 8L << 20;
    private static final String GEN1 = "0x9e000001";
    private static final String GEN2 = "0x9e000002";

    @TempDir
    Path dir;

    @Test
    void shouldOutliveAnOutageFourTimesTheJournalAndResyncWithoutLosingTheConsistentPoint() throws Exception {
        Interop.requireTools("fio", "qemu-img");
        Site site = new Site(dir);
        int replicationPort = Site.freePort();
        int agentApiPort = Site.freePort();
        int agentNbdPort = Site.freePort();
        Path agentConfig = site.write("agent.yaml", site.agentYaml(replicationPort, "1s")
                .replace("api: { listen: 127.0.0.1:0 }", "api: { listen: 127.0.0.1:" + agentApiPort + " }")
                .replace("listen: 127.0.0.1:0\n  socket", "listen: 127.0.0.1:" + agentNbdPort + "\n  socket")
                .replace("groups:\n", "journal: { maxBytes: 8MiB }\nsync: { maxRate: 4MiB }\ngroups:\n"));
        String data = "nbd://127.0.0.1:" + agentNbdPort + "/db-data";
        String log = "nbd://127.0.0.1:" + agentNbdPort + "/db-log";
        ChildJvm agent = ChildJvm.start(dir.resolve("agent-1.log"), AgentMain.class.getName(), "--config",
                agentConfig.toString());
        try {
            ApiClient agentApi = site.agentApi(agentApiPort);
            long lastConsistent;
            try (ReceiverNode receiver = Site.receiver(site.receiverConfig(replicationPort))) {
                GroupReplica replica = receiver.group("db");
                Site.assertSucceeded(Site.fioGeneration(data, GEN1, false), agent);
                await().atMost(WAIT).ignoreExceptions().until(() -> replica.consistent()
                        && replica.appliedSeq() == Site.agentGroup(agentApi).get("capturedSeq").asLong()
                        && Site.agentGroup(agentApi).get("ackedSeq").asLong() == replica.appliedSeq());
                lastConsistent = replica.appliedSeq();
            }
            // The outage: 4 x maxBytes of writes, a kill -9 of the agent in the middle.
            AtomicLong worstJournal = new AtomicLong();
            Site.assertSucceeded(Site.fioGeneration(data, GEN2, false), agent);
            JsonNode folded = Site.agentGroup(agentApi);
            LOG.info("after 16 MiB of writes with the receiver down: {}", folded);
            assertThat(folded.get("mode").asText()).isEqualTo("bitmap");
            assertThat(folded.get("dirtyBytes").asLong()).isPositive();
            assertThat(folded.get("journalBytes").asLong()).isLessThanOrEqualTo(MAX_BYTES);
            long dirtyBefore = folded.get("dirtyBytes").asLong();
            agent.kill9();
            agent.close();
            agent = ChildJvm.start(dir.resolve("agent-2.log"), AgentMain.class.getName(), "--config",
                    agentConfig.toString());
            JsonNode restarted = awaitGroup(agentApi);
            assertThat(restarted.get("mode").asText()).as("bitmap mode survives a kill -9").isEqualTo("bitmap");
            assertThat(restarted.get("dirtyBytes").asLong()).as("no dirty region is lost")
                    .isGreaterThanOrEqualTo(dirtyBefore);
            Cmd.run(300, List.of("fio", "--name=more", "--ioengine=nbd", "--uri=" + log, "--rw=randwrite",
                    "--bs=4k", "--iodepth=16", "--size=16m", "--randseed=99")).assertSuccess();
            JsonNode outage = Site.agentGroup(agentApi);
            worstJournal.accumulateAndGet(outage.get("journalBytes").asLong(), Math::max);
            assertThat(outage.get("journalBytes").asLong()).isLessThanOrEqualTo(MAX_BYTES);
            LOG.info("end of the outage: {}", outage);

            // The receiver returns: the resync runs at 4 MiB/s; a drill during it holds generation 1.
            try (ReceiverNode receiver = Site.receiver(site.receiverConfig(replicationPort))) {
                GroupReplica replica = receiver.group("db");
                ApiClient api = new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                        ApiClient.readTokenFile(receiver.apiTokenFile()));
                await().atMost(WAIT).until(replica::resyncing);
                assertThat(replica.lastConsistentSeq()).isEqualTo(lastConsistent);
                assertThat(api.get("/v1/groups/db").get("state").asText()).isEqualTo("syncing");
                JsonNode drill = api.post("/v1/groups/db/drill", Map.of("point", "latest"));
                LOG.info("drill during the resync: {}", drill);
                assertThat(drill.get("seq").asLong()).as("latest is the last consistent point").isEqualTo(lastConsistent);
                String drillData = "nbd://127.0.0.1:" + receiver.nbdAddress().getPort() + "/db-data-drill";
                Site.fioGeneration(drillData, GEN1, true).assertSuccess();
                assertThat(replica.resyncing()).as("the drill ran inside the resync").isTrue();
                api.delete("/v1/groups/db/drill");
                await().atMost(WAIT).ignoreExceptions().until(() -> {
                    JsonNode g = Site.agentGroup(agentApi);
                    worstJournal.accumulateAndGet(g.get("journalBytes").asLong(), Math::max);
                    return replica.consistent() && "journal".equals(g.get("mode").asText())
                            && g.get("dirtyBytes").asLong() == 0 && g.get("sync").isNull()
                            && replica.appliedSeq() == g.get("capturedSeq").asLong();
                });
                assertThat(replica.lastConsistentSeq()).isGreaterThan(lastConsistent);
                for (String volume : List.of("db-data", "db-log")) {
                    Cmd.run(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", site.primary(volume).toString(),
                            site.replica(volume).toString()).assertSuccess();
                }
                assertThat(worstJournal.get()).as("the journal never held more than journal.maxBytes")
                        .isLessThanOrEqualTo(MAX_BYTES);
                assertThat(Files.getPosixFilePermissions(dir.resolve("agent/bitmap/db.bitmap")))
                        .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
                assertThat(agent.stop()).isZero();
            }
        } finally {
            agent.close();
        }
    }

    private static JsonNode awaitGroup(ApiClient api) {
        await().atMost(WAIT).ignoreExceptions().until(() -> Site.agentGroup(api) != null);
        return Site.agentGroup(api);
    }

}
