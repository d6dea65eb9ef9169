package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.agent.config.AgentConfig;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiClientException;
import io.ferry.api.ApiToken;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import io.ferry.testing.Cmd;
import io.ferry.testing.Interop;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume that held data before it was protected: the receiver asks for an initial sync, the
 * agent sends the three data regions while a fio load writes on, promote and drill answer 409
 * {@code not_consistent} until the sync ends, and then the replicas equal the primaries
 * ({@code qemu-img compare}) and stay sparse where the primaries have holes. Every file and
 * directory ferry made is private to its owner.
 */
class InitialSyncEndToEndTest {
    private static final Duration SYNC = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void shouldSyncAVolumeThatAlreadyHeldDataWhileWritesGoOn() throws Exception {
        Interop.requireTools("fio", "qemu-img");
        Site site = new Site(dir);
        // data in three places of db-data and one of db-log; holes everywhere else
        writeAt(site.primary("db-data"), 0, 4 << 20, 1);
        writeAt(site.primary("db-data"), 20L << 20, 3 << 20, 2);
        writeAt(site.primary("db-data"), 60L << 20, 2 << 20, 3);
        writeAt(site.primary("db-log"), 10L << 20, 1 << 20, 4);

        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0))) {
            String yaml = site.agentYaml(receiver.replicationAddress().getPort(), "2s")
                    .replace("groups:\n", "sync: { maxRate: 2MiB }\ngroups:\n");
            try (AgentNode agent = Site.agent(AgentConfig.parse(yaml, dir))) {
                GroupReplica replica = receiver.group("db");
                ApiClient api = new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                        ApiClient.readTokenFile(receiver.apiTokenFile()));
                ApiClient agentApi = new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(),
                        ApiClient.readTokenFile(agent.config().dataDir().resolve(ApiToken.FILE_NAME)));
                await().atMost(SYNC).until(() -> !replica.consistent() && replica.syncProgress() != null
                        && replica.syncProgress().totalBytes() > 0);

                JsonNode receiverGroup = api.get("/v1/groups/db");
                assertThat(receiverGroup.get("state").asText()).isEqualTo("syncing");
                assertThat(receiverGroup.get("consistent").asBoolean()).isFalse();
                assertThat(receiverGroup.get("sync").get("kind").asText()).isEqualTo("initial");
                assertThat(receiverGroup.get("sync").get("totalBytes").asLong()).isEqualTo(2 * Site.VOLUME_BYTES);
                JsonNode agentGroup = agentApi.get("/v1/status").get("groups").get(0);
                assertThat(agentGroup.get("state").asText()).isEqualTo("syncing");
                assertThat(agentGroup.get("mode").asText()).isEqualTo("journal");
                assertThat(agentGroup.get("sync").get("totalBytes").asLong()).isEqualTo(2 * Site.VOLUME_BYTES);
                for (String[] call : List.of(new String[] {"/v1/groups/db/promote"}, new String[] {"/v1/groups/db/drill"})) {
                    assertThatThrownBy(() -> api.post(call[0], Map.of("point", "latest")))
                            .isInstanceOfSatisfying(ApiClientException.class, e -> {
                                assertThat(e.status()).isEqualTo(409);
                                assertThat(e.code()).isEqualTo("not_consistent");
                            });
                }

                // writes go on during the sync, over a data region and holes alike
                String agentNbd = "nbd://127.0.0.1:" + agent.nbdAddress().getPort() + "/db-data";
                fio(agentNbd).assertSuccess();

                await().atMost(SYNC).until(replica::consistent);
                await().atMost(SYNC).until(() -> agent.shipper().group("db").ackedSeq()
                        == agent.group("db").pipeline().capturedSeq()
                        && replica.appliedSeq() == agent.group("db").pipeline().capturedSeq());
                assertThat(agentApi.get("/v1/status").get("groups").get(0).get("sync").isNull()).isTrue();
                JsonNode done = api.get("/v1/groups/db");
                assertThat(done.get("state").asText()).isEqualTo("replicating");
                assertThat(done.get("consistent").asBoolean()).isTrue();
                assertThat(done.has("sync") && !done.get("sync").isNull()).isFalse();
                assertThat(done.get("lastConsistentSeq").asLong()).isEqualTo(replica.appliedSeq());
                long consistentAt = replica.state().lastConsistentSeq(); // where the sync ended
                JsonNode points = api.get("/v1/groups/db/points");
                assertThat(points).as("a point at the first consistent seq, none before").isNotEmpty()
                        .allMatch(p -> p.get("seq").asLong() >= consistentAt);

                for (String volume : List.of("db-data", "db-log")) {
                    Cmd.run(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", site.primary(volume).toString(),
                            site.replica(volume).toString()).assertSuccess();
                }
                assertThat(allocatedBytes(site.replica("db-log"))).as("the replica stays sparse where the primary"
                        + " has holes").isLessThan(4L << 20);

                assertPrivate(dir.resolve("receiver"));
                assertPrivate(dir.resolve("agent"));
                assertThat(mode(site.replica("db-data"))).isEqualTo("rw-------");
            }
        }
    }

    private static void writeAt(Path file, long offset, int length, long seed) throws Exception {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(Site.VOLUME_BYTES);
            f.seek(offset);
            f.write(data);
        }
    }

    private static long allocatedBytes(Path file) {
        Cmd.Result stat = Cmd.run(30, "stat", "-c", "%b %B", file.toString());
        stat.assertSuccess();
        String[] fields = stat.output().trim().split(" ");
        return Long.parseLong(fields[0]) * Long.parseLong(fields[1]);
    }

    /** Every directory under {@code root} is 0700 and every file 0600 (the token and journals included). */
    private static void assertPrivate(Path root) throws Exception {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                if (Files.isSymbolicLink(path) || path.getFileName().toString().endsWith(".sock")) {
                    continue;
                }
                assertThat(mode(path)).as(path.toString()).isEqualTo(Files.isDirectory(path) ? "rwx------" : "rw-------");
            }
        }
    }

    private static String mode(Path path) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }

    private static Cmd.Result fio(String uri) {
        return Cmd.run(300, List.of("fio", "--name=load", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite",
                "--bs=4k", "--iodepth=16", "--size=16m", "--offset=16m", "--randseed=77", "--io_size=8m"));
    }
}
