package io.ferry.bench.tls;

import io.ferry.config.TlsFiles;
import io.ferry.tls.Certificates;
import io.ferry.tls.TlsContexts;
import io.ferry.tls.TlsProvider;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Bulk throughput of the replication link's TLS 1.3 (the cipher cost alone, no sockets): an agent
 * engine encrypts 64 KiB of delta payload, a receiver engine decrypts it, both made by
 * {@link TlsContexts} from freshly issued certificates and handshaken in memory. Buffers are
 * what Netty's SslHandler hands each engine: direct for OpenSSL, heap for the JDK.
 *
 * <p>One operation is one 64 KiB payload, so MB/s = ops/s x 0.065536.
 * Run: {@code java $FLAGS -cp bench/target/ferry.jar org.openjdk.jmh.Main TlsThroughput}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class TlsThroughputBenchmark {

    static final int PAYLOAD_BYTES = 64 * 1024;

    @Param({"openssl", "jdk"})
    public String provider;

    private Path workDir;
    private SSLEngine agent;
    private SSLEngine receiver;
    private ByteBuffer plaintext;
    private ByteBuffer ciphertext;
    private ByteBuffer decrypted;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        TlsProvider tls = TlsProvider.parse(provider).requireAvailable();
        workDir = Files.createTempDirectory("ferry-tls-bench");
        Path caDir = workDir.resolve("ca");
        Certificates.createCa(caDir);
        Certificates.issue(caDir, "dr-1", workDir);
        Certificates.issue(caDir, "host-a", workDir);
        TlsFiles receiverFiles = new TlsFiles(caDir.resolve("ca.pem"), workDir.resolve("dr-1.pem"),
                workDir.resolve("dr-1.key"));
        TlsFiles agentFiles = new TlsFiles(caDir.resolve("ca.pem"), workDir.resolve("host-a.pem"),
                workDir.resolve("host-a.key"));
        receiver = TlsContexts.server(receiverFiles, tls).newEngine(ByteBufAllocator.DEFAULT);
        agent = TlsContexts.client(agentFiles, tls).newEngine(ByteBufAllocator.DEFAULT);

        boolean direct = tls == TlsProvider.OPENSSL;
        int packetBytes = agent.getSession().getPacketBufferSize();
        int records = PAYLOAD_BYTES / 16384 + 1;
        plaintext = allocate(PAYLOAD_BYTES, direct);
        byte[] payload = new byte[PAYLOAD_BYTES];
        ThreadLocalRandom.current().nextBytes(payload);
        plaintext.put(payload).flip();
        ciphertext = allocate(records * packetBytes, direct);
        decrypted = allocate(PAYLOAD_BYTES + receiver.getSession().getApplicationBufferSize(), direct);

        handshake(direct, packetBytes);
        if (!"TLSv1.3".equals(agent.getSession().getProtocol())) {
            throw new IllegalStateException("negotiated " + agent.getSession().getProtocol() + ", not TLSv1.3");
        }
        System.out.println("ferry TLS bench: " + tls.displayName() + " negotiated " + agent.getSession().getProtocol()
                + " " + agent.getSession().getCipherSuite());
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        agent.closeOutbound();
        receiver.closeOutbound();
        ReferenceCountUtil.release(agent);
        ReferenceCountUtil.release(receiver);
        try (Stream<Path> paths = Files.walk(workDir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.delete(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    /** The agent encrypts 64 KiB and the receiver decrypts it: the per-byte cost of the link at both ends. */
    @Benchmark
    public int encryptAndDecrypt() throws SSLException {
        encrypt();
        ciphertext.flip();
        decrypted.clear();
        while (ciphertext.hasRemaining()) {
            check(receiver.unwrap(ciphertext, decrypted));
        }
        if (decrypted.position() != PAYLOAD_BYTES) {
            throw new IllegalStateException("decrypted " + decrypted.position() + " bytes");
        }
        return decrypted.position();
    }

    /** The agent side alone: 64 KiB into TLS records. */
    @Benchmark
    public int encryptOnly() throws SSLException {
        encrypt();
        return ciphertext.position();
    }

    private void encrypt() throws SSLException {
        plaintext.rewind();
        ciphertext.clear();
        while (plaintext.hasRemaining()) {
            check(agent.wrap(plaintext, ciphertext));
        }
    }

    private static void check(SSLEngineResult result) {
        if (result.getStatus() != SSLEngineResult.Status.OK) {
            throw new IllegalStateException("unexpected " + result);
        }
    }

    /** Drives both engines through the TLS 1.3 handshake by passing their records across in memory. */
    private void handshake(boolean direct, int packetBytes) throws SSLException {
        ByteBuffer empty = allocate(0, direct);
        ByteBuffer toReceiver = allocate(4 * packetBytes, direct);
        ByteBuffer toAgent = allocate(4 * packetBytes, direct);
        ByteBuffer appData = allocate(agent.getSession().getApplicationBufferSize(), direct);
        agent.beginHandshake();
        receiver.beginHandshake();
        for (int round = 0; round < 100; round++) {
            agent.wrap(empty, toReceiver);
            receiver.wrap(empty, toAgent);
            runTasks(agent);
            runTasks(receiver);
            toReceiver.flip();
            toAgent.flip();
            appData.clear();
            agent.unwrap(toAgent, appData);
            receiver.unwrap(toReceiver, appData);
            runTasks(agent);
            runTasks(receiver);
            toReceiver.compact();
            toAgent.compact();
            if (finished(agent) && finished(receiver) && toReceiver.position() == 0 && toAgent.position() == 0
                    && round > 2) {
                return;
            }
        }
        throw new IllegalStateException("in-memory TLS handshake did not finish: agent "
                + agent.getHandshakeStatus() + ", receiver " + receiver.getHandshakeStatus());
    }

    private static boolean finished(SSLEngine engine) {
        HandshakeStatus status = engine.getHandshakeStatus();
        return status == HandshakeStatus.NOT_HANDSHAKING || status == HandshakeStatus.FINISHED;
    }

    private static void runTasks(SSLEngine engine) {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    private static ByteBuffer allocate(int bytes, boolean direct) {
        return direct ? ByteBuffer.allocateDirect(bytes) : ByteBuffer.allocate(bytes);
    }
}
