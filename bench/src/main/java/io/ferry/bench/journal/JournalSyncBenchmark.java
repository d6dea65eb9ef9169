package io.ferry.bench.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.ferry.log.RecordLog;
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
 * The log engine's append with a sync every {@code syncEvery} records on the appending thread
 * (1: the undo log's sync per delta; 64: a group commit), through the engine's fdatasync of the
 * cycle file ({@code FDATASYNC}, what every stream uses) or through Chronicle's own
 * {@code ExcerptAppender.sync()} msync ({@code CHRONICLE_MSYNC}): the figures behind the choice
 * in {@link RecordLog}. 256 MiB files, the older ones released. MB/s = ops/s x recordBytes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class JournalSyncBenchmark {
    private static final long FILE_BYTES = 256L << 20;

    @Param({"4096", "65536"})
    int recordBytes;

    @Param({"1", "64"})
    int syncEvery;

    @Param({"FDATASYNC", "CHRONICLE_MSYNC"})
    RecordLog.SyncMethod syncMethod;

    private Path dir;
    private ByteBuffer data;
    private RecordLog log;
    private long sinceSync;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = BenchFiles.newDirectory("ferry-log-sync-bench");
        data = BenchFiles.randomData(recordBytes);
        log = RecordLog.open(dir.resolve("log"), "bench-log", "bench", "bench log",
                new RecordLog.Options(FILE_BYTES, false, syncMethod));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        log.close();
        BenchFiles.deleteTree(dir);
    }

    @Benchmark
    public long logAppendSync() {
        long seq = log.lastSeq() + 1;
        log.beginAppend(seq, seq).write(data);
        log.commitAppend();
        if (++sinceSync == syncEvery) {
            sinceSync = 0;
            log.sync();
        }
        if ((seq & 1023) == 0) {
            log.release(seq - FILE_BYTES / recordBytes);
        }
        return seq;
    }
}
