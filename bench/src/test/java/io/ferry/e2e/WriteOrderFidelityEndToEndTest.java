package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.api.ApiClient;
import io.ferry.nbd.NbdClient;
import io.ferry.receiver.ReceiverNode;
import io.ferry.receiver.config.ReceiverConfig;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Write-order fidelity across the volumes of a group. A writer plays a database: it writes
 * counter {@code i} to volume A (db-data), and only after that write's reply the same counter to
 * volume B (db-log), then {@code i + 1}, and so on, while the receiver takes a recovery point
 * every 100 ms. Every retained point is then opened as a drill and read through NBD: each must
 * show a state the writer could have left at some instant: a prefix of its writes, so B's
 * counter is never ahead of A's and at most one behind. A receiver that applied the volumes independently, or cut a point inside
 * a delta, would show B ahead of A or far behind.
 */
class WriteOrderFidelityEndToEndTest {
    private static final Logger LOG = LoggerFactory.getLogger(WriteOrderFidelityEndToEndTest.class);
    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    /** Counters live at several offsets, so a delta holds writes to many blocks of both volumes. */
    private static final long[] OFFSETS = {0, 4096 * 7, 1 << 20, (Site.VOLUME_BYTES / 2) + 512, Site.VOLUME_BYTES - 4096};

    @TempDir
    Path dir;

    @Test
    void shouldShowEveryRetainedPointAsAStateTheWriterCouldHaveLeft() throws Exception {
        Site site = new Site(dir);
        ReceiverConfig receiverConfig = ReceiverConfig.parse(site.receiverYaml(0) + """
                pointInterval: 100ms
                retention: 1h
                """, dir);
        try (ReceiverNode receiver = Site.receiver(receiverConfig);
             AgentNode agent = Site.agent(site.agentConfig(receiver.replicationAddress().getPort(), "1s"));
             NbdClient a = NbdClient.connect(agent.nbdAddress(), "db-data");
             NbdClient b = NbdClient.connect(agent.nbdAddress(), "db-log")) {
            ApiClient api = new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                    ApiClient.readTokenFile(receiver.apiTokenFile()));

            long counter = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (api.get("/v1/groups/db/points").size() < 25) {
                assertThat(System.nanoTime()).as("25 points within 90 s; %s pairs written, applied %s of %s captured",
                        counter, receiver.group("db").appliedSeq(), agent.group("db").pipeline().capturedSeq())
                        .isLessThan(deadline);
                counter++;
                write(a, counter);
                write(b, counter);
            }
            long last = counter;
            await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(50)).until(() ->
                    receiver.group("db").appliedSeq() == agent.group("db").pipeline().capturedSeq());

            JsonNode points = api.get("/v1/groups/db/points");
            LOG.info("{} counter pairs written, {} points retained", last, points.size());
            assertThat(points.size()).isGreaterThanOrEqualTo(25);
            InetSocketAddress nbd = receiver.nbdAddress();
            List<Long> seen = new ArrayList<>();
            for (JsonNode point : points) {
                String id = point.get("id").asText();
                JsonNode drill = api.post("/v1/groups/db/drill", Map.of("point", id));
                assertThat(drill.get("seq").asLong()).isEqualTo(point.get("seq").asLong());
                List<Long> state = new ArrayList<>();
                try (NbdClient drillA = NbdClient.connect(nbd, "db-data-drill");
                     NbdClient drillB = NbdClient.connect(nbd, "db-log-drill")) {
                    read(drillA, state);
                    read(drillB, state);
                }
                api.delete("/v1/groups/db/drill");
                // The writer's writes in order are A@o0..A@o4, B@o0..B@o4 of counter i, then of i+1: a
                // state it could have left is a prefix, so in that order the counters never rise and
                // drop by at most one in all.
                assertThat(state).as("point %s (seq %s): counters A@o0..o4, B@o0..o4", id, point.get("seq"))
                        .isSortedAccordingTo((x, y) -> Long.compare(y, x));
                assertThat(state.get(0) - state.get(state.size() - 1)).as("point %s: B at most one step behind A",
                        id).isBetween(0L, 1L);
                long counterA = state.get(0);
                seen.add(counterA);
            }
            assertThat(seen).as("points are in time order").isSorted();
            api.post("/v1/groups/db/drill", Map.of("point", "latest"));
            List<Long> latest = new ArrayList<>();
            try (NbdClient drillA = NbdClient.connect(nbd, "db-data-drill");
                 NbdClient drillB = NbdClient.connect(nbd, "db-log-drill")) {
                read(drillA, latest);
                read(drillB, latest);
            }
            api.delete("/v1/groups/db/drill");
            assertThat(latest).as("a drill at latest after catch-up holds the last pair").containsOnly(last);
            assertThat(seen.stream().distinct().count()).as("the points show different instants").isGreaterThan(10);
        }
    }

    /** Writes {@code counter} at every counter offset of the volume, with one reply for the whole step. */
    private static void write(NbdClient volume, long counter) throws Exception {
        byte[] block = new byte[512];
        ByteBuffer.wrap(block).putLong(counter).putLong(~counter);
        for (long offset : OFFSETS) {
            volume.write(offset, block, false);
        }
    }

    /** Adds the counter at each counter offset of the volume to {@code state}. */
    private static void read(NbdClient volume, List<Long> state) throws Exception {
        for (long offset : OFFSETS) {
            ByteBuffer block = ByteBuffer.wrap(volume.read(offset, 16));
            long counter = block.getLong();
            long check = block.getLong();
            assertThat(counter == 0 && check == 0 || check == ~counter).as("%s at %d holds a whole write",
                    volume.exportName(), offset).isTrue();
            state.add(counter);
        }
    }
}
