package io.ferry.bench.demo;

import io.ferry.cli.Cli;
import io.ferry.cli.HelpOption;
import io.ferry.cli.UsageException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import io.ferry.agent.AgentNode;
import io.ferry.agent.config.AgentConfig;
import io.ferry.capture.ship.Shipper;
import io.ferry.api.ApiClient;
import io.ferry.nbd.NbdClient;
import io.ferry.receiver.ReceiverNode;
import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.replica.store.GroupReplica;
import io.ferry.tls.Certificates;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * {@code ferry demo}: the main job on an embedded default. Makes a workspace, a CA and
 * certificates, starts a receiver and an agent on loopback, protects a consistency group of two
 * volumes (one of which already holds data: the demo shows its initial sync), drives a write workload through NBD while showing progress and lag against the RPO,
 * waits until the replica caught up, runs a drill (clones checked against the primaries, written
 * to, discarded), promotes the replica through the management API, checks each
 * promoted export byte for byte against its primary through NBD and prints a summary. Needs nothing but a JDK; removes its workspace unless asked to keep it.
 */
public final class Demo {
    private static final String GROUP = "demo";
    private static final long DATA_BYTES = 256L << 20;
    private static final long LOG_BYTES = 64L << 20;
    private static final Duration RPO = Duration.ofSeconds(2);

    private final PrintStream out;
    private final Duration workload;
    private final boolean keep;

    private Demo(PrintStream out, Duration workload, boolean keep) {
        this.out = out;
        this.workload = workload;
        this.keep = keep;
    }

    /** {@code ferry demo [--seconds N] [--keep]}. */
    @Command(name = "demo", sortOptions = false,
            description = "The main job on an embedded default: a receiver and an agent on loopback, a write"
                    + " workload, a drill, a promote, the promoted replica checked byte for byte.")
    public static final class DemoCommand implements Callable<Integer> {
        @Option(names = "--seconds", paramLabel = "N", defaultValue = "10",
                description = "how long the write workload runs (default 10)")
        long seconds;

        @Option(names = "--keep", description = "keep the workspace (its path is printed)")
        boolean keep;

        @Mixin
        HelpOption help;

        private final PrintStream out;

        public DemoCommand(PrintStream out) {
            this.out = out;
        }

        @Override
        public Integer call() throws Exception {
            if (seconds <= 0) {
                throw new UsageException("--seconds must be at least 1, got " + seconds);
            }
            return new Demo(out, Duration.ofSeconds(seconds), keep).run();
        }
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.execute("ferry demo", new DemoCommand(out), args, out, err);
    }

    private int run() throws Exception {
        Path ws = Files.createTempDirectory("ferry-demo-");
        out.println("ferry demo: workspace " + ws);
        try {
            Path certs = Files.createDirectories(ws.resolve("certs"));
            Certificates.createCa(certs);
            Certificates.issue(certs, "host-a", certs);
            Certificates.issue(certs, "dr-1", certs);
            out.println("  CA and certificates for agent host-a and receiver dr-1 in " + certs);

            ReceiverConfig receiverConfig = ReceiverConfig.parse("""
                    id: dr-1
                    dataDir: %1$s/receiver
                    listen: 127.0.0.1:0
                    nbd: { listen: 127.0.0.1:0 }
                    api: { listen: 127.0.0.1:0 }
                    tls: { ca: certs/ca.pem, cert: certs/dr-1.pem, key: certs/dr-1.key }
                    agents:
                      - id: host-a
                        groups: [%2$s]
                    """.formatted(ws, GROUP), ws);
            try (ReceiverNode receiver = ReceiverNode.launch(receiverConfig)) {
                Files.createDirectories(ws.resolve("volumes"));
                long existing = fillExisting(ws.resolve("volumes").resolve("demo-data.img"));
                out.printf("  demo-data already holds %d MiB of data in three places (holes elsewhere): it is put"
                        + " under protection as it is%n", existing >> 20);
                AgentConfig agentConfig = AgentConfig.parse("""
                        id: host-a
                        dataDir: %1$s/agent
                        nbd: { listen: 127.0.0.1:0 }
                        api: { listen: 127.0.0.1:0 }
                        receiver: 127.0.0.1:%2$d
                        tls: { ca: certs/ca.pem, cert: certs/host-a.pem, key: certs/host-a.key }
                        groups:
                          - name: %3$s
                            rpo: %4$ds
                            volumes:
                              - { name: demo-data, path: volumes/demo-data.img, size: %5$d }
                              - { name: demo-log, path: volumes/demo-log.img, size: %6$d }
                        """.formatted(ws, receiver.replicationAddress().getPort(), GROUP, RPO.toSeconds(),
                        DATA_BYTES, LOG_BYTES), ws);
                try (AgentNode agent = AgentNode.launch(agentConfig)) {
                    out.printf("  receiver dr-1 on %s, agent host-a serving NBD on %s (rpo %ds)%n",
                            receiver.replicationAddress(), agent.nbdAddress(), RPO.toSeconds());
                    return drive(agent, receiver, ws);
                }
            }
        } finally {
            if (keep) {
                out.println("  kept workspace " + ws);
            } else {
                deleteTree(ws);
            }
        }
    }

    private int drive(AgentNode agent, ReceiverNode receiver, Path ws) throws Exception {
        Shipper.GroupView view = agent.shipper().group(GROUP);
        GroupReplica replica = receiver.group(GROUP);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!agent.shipper().connected() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        if (!agent.shipper().connected()) {
            out.println("  the agent could not connect to the receiver: " + agent.shipper().linkProblem());
            return 1;
        }
        long syncStart = System.nanoTime();
        while (!replica.consistent() || replica.syncProgress() != null || view.sync() != null) {
            if (System.nanoTime() - syncStart > 300_000_000_000L) {
                out.println("  the initial sync did not end within 5 minutes");
                return 1;
            }
            var sync = view.sync();
            if (sync != null) {
                out.printf(Locale.ROOT, "  initial sync %s%n", bar(sync.doneBytes(), sync.totalBytes(), sync.sentBytes(),
                        sync.etaSeconds()));
            }
            Thread.sleep(500);
        }
        double syncSeconds = (System.nanoTime() - syncStart) / 1e9;
        out.printf(Locale.ROOT, "  initial sync complete in %.1f s: the replica is a consistent copy (state %s)%n",
                syncSeconds, "replicating");
        out.printf("  writing through NBD for %d s (4 writers, 4-64 KiB writes, half-compressible data, flushes)%n",
                workload.toSeconds());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong written = new AtomicLong();
        List<Throwable> failures = new ArrayList<>();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            int writer = w;
            Thread thread = new Thread(() -> {
                String export = writer < 3 ? "demo-data" : "demo-log";
                long size = writer < 3 ? DATA_BYTES : LOG_BYTES;
                Random random = new Random(writer);
                try (NbdClient client = NbdClient.connect(agent.nbdAddress(), export)) {
                    int ops = 0;
                    while (!stop.get()) {
                        int length = 4096 << random.nextInt(5);
                        long offset = (long) random.nextInt((int) ((size - length) / 4096)) * 4096;
                        byte[] data = new byte[length];
                        for (int b = 0; b < length; b += 4096) {
                            byte[] noise = new byte[2048];
                            random.nextBytes(noise);
                            System.arraycopy(noise, 0, data, b, 2048);
                        }
                        client.write(offset, data, false);
                        written.addAndGet(length);
                        if (++ops % 64 == 0) {
                            client.flush();
                        }
                    }
                    client.flush();
                } catch (Throwable t) {
                    synchronized (failures) {
                        failures.add(t);
                    }
                }
            }, "demo-writer-" + w);
            writers.add(thread);
            thread.start();
        }
        long start = System.nanoTime();
        long workloadEnd = start + workload.toNanos();
        double worstLag = 0;
        while (System.nanoTime() < workloadEnd) {
            Thread.sleep(1000);
            double lag = view.lagSeconds();
            worstLag = Math.max(worstLag, lag);
            out.printf(Locale.ROOT, "  %4.0fs  written %7.1f MiB  captured seq %7d  acked %7d  applied %7d  lag %5.2fs / rpo %ds%s%n",
                    (System.nanoTime() - start) / 1e9, written.get() / 1048576.0,
                    agent.group(GROUP).pipeline().capturedSeq(), view.ackedSeq(), replica.appliedSeq(), lag,
                    RPO.toSeconds(), view.rpoBreach() ? "  RPO BREACH" : "");
        }
        stop.set(true);
        for (Thread thread : writers) {
            thread.join();
        }
        if (!failures.isEmpty()) {
            out.println("  a writer failed: " + failures.get(0));
            return 1;
        }
        long captured = agent.group(GROUP).pipeline().capturedSeq();
        long catchUpStart = System.nanoTime();
        out.printf("  workload done; waiting for the replica to apply seq %d%n", captured);
        if (!replica.awaitApplied(captured, Duration.ofSeconds(120))) {
            out.printf("  the replica did not catch up: applied %d of %d (%s)%n", replica.appliedSeq(), captured,
                    replica.failure() == null ? "still behind" : replica.failure());
            return 1;
        }
        double catchUpSeconds = (System.nanoTime() - catchUpStart) / 1e9;
        worstLag = Math.max(worstLag, view.worstLagSeconds());

        // A drill first, as an operator tests a recovery without stopping protection: writable
        // clones of the latest point, checked against the primaries, written to, then discarded.
        String api = "127.0.0.1:" + receiver.apiAddress().getPort();
        String token = ApiClient.readTokenFile(receiver.apiTokenFile());
        ApiClient receiverApi = new ApiClient(api, token);
        long drillStart = System.nanoTime();
        JsonNode drill = receiverApi.post("/v1/groups/" + GROUP + "/drill", Map.of("point", "latest"));
        double drillSeconds = (System.nanoTime() - drillStart) / 1e9;
        out.printf(Locale.ROOT, "  drill started at latest (seq %d) in %.3f s: clones %s-drill and %s-drill%n",
                drill.path("seq").asLong(), drillSeconds, "demo-data", "demo-log");
        boolean drillIdentical = true;
        for (String volume : List.of("demo-data", "demo-log")) {
            long mismatch = compareThroughNbd(ws.resolve("volumes").resolve(volume + ".img"), receiver.nbdAddress(),
                    volume + "-drill");
            out.printf("  %-9s primary file vs drill clone %s-drill: %s%n", volume, volume,
                    mismatch < 0 ? "identical" : "DIFFER at byte " + mismatch);
            drillIdentical &= mismatch < 0;
        }
        try (NbdClient clone = NbdClient.connect(receiver.nbdAddress(), "demo-data-drill")) {
            byte[] scribble = new byte[1 << 20];
            Arrays.fill(scribble, (byte) 0xd7);
            clone.write(0, scribble, true);
        }
        JsonNode stopped = receiverApi.delete("/v1/groups/" + GROUP + "/drill");
        out.printf("  wrote 1 MiB into the drill clone, stopped the drill (%d bytes of scratch discarded)%n",
                stopped.path("scratchBytesDiscarded").asLong());

        // Promote the replica to latest through the management API, as an operator would, and
        // check every promoted export byte for byte against its primary through NBD (which also
        // shows that the drill's write never reached the replica).
        long promoteStart = System.nanoTime();
        JsonNode promoted = receiverApi.post("/v1/groups/" + GROUP + "/promote", Map.of("point", "latest"));
        double promoteSeconds = (System.nanoTime() - promoteStart) / 1e9;
        out.printf(Locale.ROOT, "  promoted group %s to latest (seq %d) in %.3f s; exports on %s%n", GROUP,
                promoted.path("seq").asLong(), promoteSeconds, receiver.nbdAddress());
        long fenceDeadline = System.nanoTime() + 10_000_000_000L;
        while (!"fenced".equals(view.state()) && System.nanoTime() < fenceDeadline) {
            Thread.sleep(50);
        }
        out.printf("  the agent now reports the group as %s: %s%n", view.state(), view.problem());

        boolean identical = true;
        for (String volume : List.of("demo-data", "demo-log")) {
            Path primary = ws.resolve("volumes").resolve(volume + ".img");
            long mismatch = compareThroughNbd(primary, receiver.nbdAddress(), volume);
            out.printf("  %-9s primary file vs promoted export nbd://%s:%d/%s: %s%n", volume,
                    receiver.nbdAddress().getHostString(), receiver.nbdAddress().getPort(), volume,
                    mismatch < 0 ? "identical" : "DIFFER at byte " + mismatch);
            identical &= mismatch < 0;
        }
        double ratio = view.bytesShipped() == 0 ? 0 : (double) view.bytesCaptured() / view.bytesShipped();
        out.println();
        out.println("ferry demo summary");
        out.printf(Locale.ROOT, "  bytes written through NBD   %,d (%.1f MiB)%n", written.get(), written.get() / 1048576.0);
        out.printf(Locale.ROOT, "  bytes captured / shipped    %,d / %,d (compression %.2f:1, LZ4 over TLS 1.3)%n",
                view.bytesCaptured(), view.bytesShipped(), ratio);
        out.printf(Locale.ROOT, "  writes captured (seq)       %d%n", captured);
        out.printf(Locale.ROOT, "  initial sync                %.1f s for the data the volume held before%n", syncSeconds);
        out.printf(Locale.ROOT, "  worst lag                   %.2f s (rpo %d s)%n", worstLag, RPO.toSeconds());
        out.printf(Locale.ROOT, "  catch-up after the workload %.2f s%n", catchUpSeconds);
        out.printf(Locale.ROOT, "  drill start at latest       %.3f s; clones %s%n", drillSeconds,
                drillIdentical ? "identical to the primaries" : "DIFFERENT");
        out.printf(Locale.ROOT, "  undo log                    %,d bytes for point-in-time recovery%n",
                replica.undoBytes());
        out.printf(Locale.ROOT, "  promote to latest           %.3f s (request to export)%n", promoteSeconds);
        out.printf(Locale.ROOT, "  promoted replicas           %s%n", identical ? "identical to the primaries" : "DIFFERENT");
        return identical && drillIdentical ? 0 : 1;
    }

    /** {@code [######........] 42% 12.0 of 320.0 MiB, 11.0 MiB sent, ETA 3s}. */
    private static String bar(long done, long total, long sent, Double eta) {
        int width = 30;
        int filled = total == 0 ? width : (int) (done * width / total);
        return String.format(Locale.ROOT, "[%s%s] %3d%% %.1f of %.1f MiB, %.1f MiB of data sent, ETA %s",
                "#".repeat(filled), ".".repeat(width - filled), total == 0 ? 100 : done * 100 / total, done / 1048576.0,
                total / 1048576.0, sent / 1048576.0, eta == null ? "-" : Math.round(eta) + "s");
    }

    /** Writes half-compressible data into three places of a new sparse volume file; returns the bytes written. */
    private static long fillExisting(Path volume) throws IOException {
        long written = 0;
        Random random = new Random(42);
        try (FileChannel channel = FileChannel.open(volume, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.SPARSE)) {
            channel.truncate(DATA_BYTES);
            channel.write(ByteBuffer.allocate(1), DATA_BYTES - 1);
            for (long at : new long[] {0, DATA_BYTES / 3, DATA_BYTES - (24L << 20)}) {
                byte[] chunk = new byte[1 << 20];
                for (int mib = 0; mib < 16; mib++) {
                    random.nextBytes(chunk);
                    Arrays.fill(chunk, 0, chunk.length / 2, (byte) 'f');
                    ByteBuffer buffer = ByteBuffer.wrap(chunk);
                    long position = at + ((long) mib << 20);
                    while (buffer.hasRemaining()) {
                        position += channel.write(buffer, position);
                    }
                    written += chunk.length;
                }
            }
        }
        return written;
    }

    /** First differing byte of {@code primary} and the export, or -1 when identical. */
    private static long compareThroughNbd(Path primary, InetSocketAddress nbd, String export) throws IOException {
        int chunk = 4 << 20;
        try (NbdClient client = NbdClient.connect(nbd, export);
             FileChannel file = FileChannel.open(primary)) {
            long size = file.size();
            if (client.size() != size) {
                return Math.min(client.size(), size);
            }
            ByteBuffer local = ByteBuffer.allocate(chunk);
            for (long offset = 0; offset < size; offset += chunk) {
                int length = (int) Math.min(chunk, size - offset);
                byte[] remote = client.read(offset, length);
                local.clear().limit(length);
                while (local.hasRemaining() && file.read(local, offset + local.position()) >= 0) {
                    // read fully
                }
                int at = Arrays.mismatch(Arrays.copyOf(local.array(), length), remote);
                if (at >= 0) {
                    return offset + at;
                }
            }
            return -1;
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
