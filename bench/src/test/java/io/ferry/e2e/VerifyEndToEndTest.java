package io.ferry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiClientException;
import io.ferry.api.ApiToken;
import io.ferry.cli.VerifyCommand;
import io.ferry.receiver.ReceiverNode;
import io.ferry.replica.store.GroupReplica;
import io.ferry.testing.Cmd;
import io.ferry.testing.Interop;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online verify: under a running fio load it finds no difference (each region is compared at
 * the exact seq the agent read it at); bytes changed in a replica behind the receiver's back are
 * found, named by volume, offset and length, and repaired; a promoted group cannot be verified.
 */
class VerifyEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void shouldFindNoFalseMismatchUnderLoadAndFindAndRepairBitRot() throws Exception {
        Interop.requireTools("fio", "qemu-img");
        Site site = new Site(dir);
        try (ReceiverNode receiver = Site.receiver(site.receiverConfig(0));
             AgentNode agent = Site.agent(io.ferry.agent.config.AgentConfig.parse(site.agentYaml(
                     receiver.replicationAddress().getPort(), "2s").replace("groups:\n",
                     "sync: { maxRate: 32MiB }\ngroups:\n"), dir))) { // a verify of 128 MiB takes 4 s
            GroupReplica replica = receiver.group("db");
            String agentApiAddress = "127.0.0.1:" + agent.apiAddress().getPort();
            Path tokenFile = agent.config().dataDir().resolve(ApiToken.FILE_NAME);
            ApiClient api = new ApiClient(agentApiAddress, ApiClient.readTokenFile(tokenFile));
            String agentNbd = "nbd://127.0.0.1:" + agent.nbdAddress().getPort() + "/db-data";
            fio(agentNbd, "16m", "write").assertSuccess();
            await().atMost(WAIT).until(() -> replica.consistent() && caughtUp(agent, replica));

            // 1. under load: the verify compares while fio writes over the same regions
            CompletableFuture<Cmd.Result> load = CompletableFuture.supplyAsync(() -> Cmd.run(300, List.of("fio",
                    "--name=load", "--ioengine=nbd", "--uri=" + agentNbd, "--rw=randwrite", "--bs=4k", "--iodepth=16",
                    "--size=16m", "--time_based", "--runtime=10", "--rate_iops=2000")));
            long before = agent.group("db").pipeline().capturedSeq();
            await().atMost(WAIT).until(() -> agent.group("db").pipeline().capturedSeq() > before + 100);
            JsonNode started = api.post("/v1/groups/db/verify", Map.of("repair", false));
            assertThat(started.get("state").asText()).isEqualTo("running");
            JsonNode underLoad = awaitDone(api);
            assertThat(load).as("fio still writes when the verify ends").isNotDone();
            assertThat(agent.group("db").pipeline().capturedSeq()).as("writes during the verify")
                    .isGreaterThan(started.get("seq").asLong() + 1000);
            load.join().assertSuccess();
            assertThat(underLoad.get("verifiedBytes").asLong()).isEqualTo(2 * Site.VOLUME_BYTES);
            assertThat(underLoad.get("mismatches")).as("no false mismatch under load").isEmpty();
            assertThat(underLoad.get("mismatchedBytes").asLong()).isZero();

            // 2. bit rot: bytes change in the replica files behind the receiver's back
            await().atMost(WAIT).until(() -> caughtUp(agent, replica));
            rot(site.replica("db-data"), 5L << 20);
            rot(site.replica("db-log"), 40L << 20);
            Console found = verifyCommand(agentApiAddress, tokenFile, "--wait");
            assertThat(found.code).as(found.text).isEqualTo(1);
            assertThat(found.text).contains("mismatch: volume db-data offset 5242880 length 65536")
                    .contains("mismatch: volume db-log offset 41943040 length 65536");
            JsonNode reported = api.get("/v1/groups/db/verify");
            assertThat(reported.get("mismatches")).hasSize(2);
            assertThat(reported.get("mismatches").get(0).get("volume").asText()).isEqualTo("db-data");

            Console repaired = verifyCommand(agentApiAddress, tokenFile, "--wait", "--repair");
            assertThat(repaired.code).as(repaired.text).isZero();
            assertThat(repaired.text).contains("131072 bytes repaired");
            Console clean = verifyCommand(agentApiAddress, tokenFile, "--wait");
            assertThat(clean.code).as(clean.text).isZero();
            assertThat(clean.text).contains("0 bytes different");
            await().atMost(WAIT).until(() -> caughtUp(agent, replica));
            for (String volume : List.of("db-data", "db-log")) {
                Cmd.run(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", site.primary(volume).toString(),
                        site.replica(volume).toString()).assertSuccess();
            }

            // 3. a promoted group has no replica to verify against
            ApiClient receiverApi = new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                    ApiClient.readTokenFile(receiver.apiTokenFile()));
            receiverApi.post("/v1/groups/db/promote", Map.of("point", "latest"));
            await().atMost(WAIT).until(() -> "fenced".equals(agent.shipper().group("db").state()));
            assertThatThrownBy(() -> api.post("/v1/groups/db/verify", Map.of("repair", false)))
                    .isInstanceOfSatisfying(ApiClientException.class, e -> {
                        assertThat(e.status()).isEqualTo(409);
                        assertThat(e.code()).isEqualTo("promoted");
                    });
            assertThat(verifyCommand(agentApiAddress, tokenFile, "--wait").code).isEqualTo(1);
            assertThat(verifyCommand(agentApiAddress, tokenFile, "--wait", "--bogus").code).isEqualTo(2);
        }
    }

    private record Console(int code, String text) {
    }

    private static Console verifyCommand(String api, Path tokenFile, String... extra) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> args = new java.util.ArrayList<>(List.of("--api", api, "--token-file", tokenFile.toString(),
                "--group", "db"));
        args.addAll(List.of(extra));
        int code = VerifyCommand.run(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Console(code, out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8));
    }

    private static JsonNode awaitDone(ApiClient api) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(200))
                .until(() -> !"running".equals(api.get("/v1/groups/db/verify").get("state").asText()));
        JsonNode run = api.get("/v1/groups/db/verify");
        assertThat(run.get("state").asText()).as(run.toString()).isEqualTo("done");
        return run;
    }

    private static boolean caughtUp(AgentNode agent, GroupReplica replica) {
        long captured = agent.group("db").pipeline().capturedSeq();
        return agent.shipper().group("db").ackedSeq() == captured && replica.appliedSeq() == captured;
    }

    /** Changes 100 bytes of {@code file} at {@code offset} (+ 1000) without the receiver knowing. */
    private static void rot(Path file, long offset) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] bytes = new byte[100];
            f.seek(offset + 1000);
            f.readFully(bytes);
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] ^= (byte) 0xA5;
            }
            f.seek(offset + 1000);
            f.write(bytes);
        }
    }

    private static Cmd.Result fio(String uri, String size, String rw) {
        return Cmd.run(300, List.of("fio", "--name=load", "--ioengine=nbd", "--uri=" + uri, "--rw=" + rw, "--bs=4k",
                "--iodepth=16", "--size=" + size, "--offset=0", "--randseed=99", "--time_based=0"));
    }
}
