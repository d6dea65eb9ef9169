package io.ferry.bench.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import io.ferry.agent.AgentNode;
import io.ferry.agent.config.AgentConfig;
import io.ferry.capture.ship.Shipper;
import io.ferry.api.ApiClient;
import io.ferry.receiver.ReceiverNode;
import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.replica.store.GroupReplica;
import io.ferry.tls.Certificates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Measures what issue 4 asks for, on one in-process receiver and agent with a group of two
 * volumes ({@code --size-gib} in all, default 4): the group is filled sequentially, then a
 * random-write load runs through the agent's NBD export for {@code --load-seconds} (longer than
 * {@code --retention}, so the oldest retained point is one retention window back). Near the end
 * of the load a drill is started at latest and at the oldest point (start times); right after
 * the load the group is promoted ({@code --promote latest|oldest}). Reports undo log bytes per
 * GiB overwritten (from the undo growth while nothing was yet pruned). Needs fio.
 *
 * <pre>java $(cat bin/jvm-flags) -cp bench/target/ferry.jar io.ferry.bench.recovery.RecoveryFigures --promote oldest</pre>
 */
public final class RecoveryFigures {
    private static final String GROUP = "g";

    private long sizeGib = 4;
    private Duration retention = Duration.ofSeconds(60);
    private Duration load = Duration.ofSeconds(75);
    private String promote = "latest";
    private Path base = Path.of(System.getProperty("java.io.tmpdir"));

    public static void main(String[] args) throws Exception {
        RecoveryFigures figures = new RecoveryFigures();
        for (int i = 0; i < args.length; i += 2) {
            String value = i + 1 < args.length ? args[i + 1] : "";
            switch (args[i]) {
                case "--size-gib" -> figures.sizeGib = Long.parseLong(value);
                case "--retention" -> figures.retention = Duration.ofSeconds(Long.parseLong(value.replace("s", "")));
                case "--load-seconds" -> figures.load = Duration.ofSeconds(Long.parseLong(value));
                case "--promote" -> figures.promote = value;
                case "--dir" -> figures.base = Path.of(value);
                default -> {
                    System.err.println("usage: RecoveryFigures [--size-gib N] [--retention Ns] [--load-seconds N]"
                            + " [--promote latest|oldest] [--dir DIR]");
                    System.exit(2);
                }
            }
        }
        System.exit(figures.run());
    }

    private int run() throws Exception {
        Path ws = Files.createTempDirectory(base, "ferry-recovery-");
        try {
            Path certs = Files.createDirectories(ws.resolve("certs"));
            Certificates.createCa(certs);
            Certificates.issue(certs, "host-a", certs);
            Certificates.issue(certs, "dr-1", certs);
            ReceiverConfig receiverConfig = ReceiverConfig.parse("""
                    id: dr-1
                    dataDir: %1$s/receiver
                    listen: 127.0.0.1:0
                    nbd: { listen: 127.0.0.1:0 }
                    api: { listen: 127.0.0.1:0 }
                    tls: { ca: certs/ca.pem, cert: certs/dr-1.pem, key: certs/dr-1.key }
                    retention: %3$ds
                    pointInterval: 5s
                    agents:
                      - id: host-a
                        groups: [%2$s]
                    """.formatted(ws, GROUP, retention.toSeconds()), ws);
            long volumeBytes = (sizeGib << 30) / 2;
            try (ReceiverNode receiver = ReceiverNode.launch(receiverConfig)) {
                Files.createDirectories(ws.resolve("volumes"));
                AgentConfig agentConfig = AgentConfig.parse("""
                        id: host-a
                        dataDir: %1$s/agent
                        nbd: { listen: 127.0.0.1:0 }
                        api: { listen: 127.0.0.1:0 }
                        receiver: 127.0.0.1:%2$d
                        tls: { ca: certs/ca.pem, cert: certs/host-a.pem, key: certs/host-a.key }
                        journal: { maxBytes: 64GiB }
                        groups:
                          - name: %3$s
                            rpo: 10s
                            volumes:
                              - { name: a, path: volumes/a.img, size: %4$d }
                              - { name: b, path: volumes/b.img, size: %4$d }
                        """.formatted(ws, receiver.replicationAddress().getPort(), GROUP, volumeBytes), ws);
                try (AgentNode agent = AgentNode.launch(agentConfig)) {
                    return measure(agent, receiver, volumeBytes);
                }
            }
        } finally {
            try (Stream<Path> paths = Files.walk(ws)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private int measure(AgentNode agent, ReceiverNode receiver, long volumeBytes) throws Exception {
        GroupReplica replica = receiver.group(GROUP);
        Shipper.GroupView view = agent.shipper().group(GROUP);
        ApiClient api = new ApiClient("127.0.0.1:" + receiver.apiAddress().getPort(),
                ApiClient.readTokenFile(receiver.apiTokenFile()));
        String nbd = "nbd://127.0.0.1:" + agent.nbdAddress().getPort() + "/";

        long t0 = System.nanoTime();
        fio(List.of("--rw=write", "--bs=1m", "--iodepth=8", "--size=" + volumeBytes), nbd).waitFor();
        awaitCaughtUp(agent, replica);
        log("filled %d GiB in %.1f s (replicated, applied)", sizeGib, (System.nanoTime() - t0) / 1e9);

        long undoBefore = replica.undoBytes();
        long capturedBefore = view.bytesCaptured();
        Process loadRun = fio(List.of("--rw=randwrite", "--bs=64k", "--iodepth=8", "--size=" + volumeBytes,
                "--time_based", "--runtime=" + load.toSeconds()), nbd);
        long loadStart = System.nanoTime();
        // Undo growth per byte overwritten, sampled before retention starts pruning.
        long window = Math.max(5, retention.toSeconds() - 10);
        Thread.sleep(TimeUnit.SECONDS.toMillis(window));
        long appliedCapturedBytes = view.bytesCaptured() - capturedBefore;
        awaitAppliedNow(agent, replica);
        long undoGrowth = replica.undoBytes() - undoBefore;
        double undoPerGib = undoGrowth / (appliedCapturedBytes / (double) (1L << 30));
        log("undo: %,d bytes for %,d bytes overwritten in %d s: %.3f GiB of undo per GiB overwritten",
                undoGrowth, appliedCapturedBytes, window, undoPerGib / (1L << 30));

        long untilDrills = loadStart + load.toNanos() - TimeUnit.SECONDS.toNanos(12) - System.nanoTime();
        if (untilDrills > 0) {
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(untilDrills));
        }
        JsonNode drillLatest = api.post("/v1/groups/" + GROUP + "/drill", Map.of("point", "latest"));
        api.delete("/v1/groups/" + GROUP + "/drill");
        JsonNode oldest = oldestSafePoint(api);
        JsonNode drillOldest = api.post("/v1/groups/" + GROUP + "/drill", Map.of("point", oldest.get("id").asText()));
        JsonNode stopped = api.delete("/v1/groups/" + GROUP + "/drill");
        log("drill start under load: latest %d ms; oldest point %s (%s, seq %d of applied %d) %d ms, scratch %,d bytes",
                drillLatest.get("drillStartMillis").asLong(), oldest.get("id").asText(), oldest.get("time").asText(),
                oldest.get("seq").asLong(), replica.appliedSeq(), drillOldest.get("drillStartMillis").asLong(),
                stopped.get("scratchBytesDiscarded").asLong());

        if (loadRun.waitFor() != 0) {
            log("fio load failed (exit %d)", loadRun.exitValue());
            return 1;
        }
        oldest = oldestSafePoint(api);
        String point = "oldest".equals(promote) ? oldest.get("id").asText() : "latest";
        long behind = agent.group(GROUP).pipeline().capturedSeq() - replica.appliedSeq();
        long wallStart = System.nanoTime();
        JsonNode promoted = api.post("/v1/groups/" + GROUP + "/promote", Map.of("point", point));
        double wall = (System.nanoTime() - wallStart) / 1e9;
        log("promote to %s (seq %d; oldest point time %s; %d seqs not yet applied when asked): %d ms (%.3f s wall);"
                + " undo log %,d bytes, lag at promote %.2f s", point, promoted.get("seq").asLong(),
                oldest.get("time").asText(), behind, promoted.get("promoteMillis").asLong(), wall,
                replica.undoBytes(), view.lagSeconds());
        System.out.printf(Locale.ROOT, "RESULT sizeGiB=%d retentionS=%d promote=%s promoteMs=%d drillLatestMs=%d"
                + " drillOldestMs=%d undoGibPerGibOverwritten=%.3f%n", sizeGib, retention.toSeconds(), point,
                promoted.get("promoteMillis").asLong(), drillLatest.get("drillStartMillis").asLong(),
                drillOldest.get("drillStartMillis").asLong(), undoPerGib / (1L << 30));
        return 0;
    }

    /**
     * The oldest point younger than the retention window less 15 s: about one retention window
     * back, yet not one that retention prunes between this read and the request naming it.
     */
    private JsonNode oldestSafePoint(ApiClient api) {
        JsonNode points = api.get("/v1/groups/" + GROUP + "/points");
        Instant cutoff = Instant.now().minus(retention).plusSeconds(15);
        for (JsonNode point : points) {
            if (Instant.parse(point.get("time").asText()).isAfter(cutoff)) {
                return point;
            }
        }
        return points.get(points.size() - 1);
    }

    private static void awaitCaughtUp(AgentNode agent, GroupReplica replica) throws InterruptedException {
        while (replica.appliedSeq() < agent.group(GROUP).pipeline().capturedSeq()) {
            Thread.sleep(100);
        }
    }

    private static void awaitAppliedNow(AgentNode agent, GroupReplica replica) throws InterruptedException {
        long target = agent.group(GROUP).pipeline().capturedSeq();
        while (replica.appliedSeq() < target) {
            Thread.sleep(20);
        }
    }

    /** fio over both volumes, half-compressible data, as the peer comparisons use. */
    private static Process fio(List<String> job, String nbdBase) throws IOException {
        List<String> command = new ArrayList<>(List.of("fio", "--ioengine=nbd", "--direct=1",
                "--buffer_compress_percentage=50", "--refill_buffers", "--group_reporting"));
        for (String volume : List.of("a", "b")) {
            command.add("--name=" + volume);
            command.add("--uri=" + nbdBase + volume);
            command.addAll(job);
        }
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    private static void log(String format, Object... args) {
        System.out.printf(Locale.ROOT, "recovery-figures: " + format + "%n", args);
    }
}
