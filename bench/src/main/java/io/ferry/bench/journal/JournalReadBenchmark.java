package io.ferry.bench.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import io.ferry.capture.journal.ChronicleJournal;
import io.ferry.capture.journal.Journal;
import io.ferry.capture.journal.JournalEntry;
import io.ferry.capture.journal.JournalReader;
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
 * Journal read throughput (what the agent's shipper does: next record, payload copied out)
 * against the floor of a plain {@link FileChannel#read} of the same bytes into a heap buffer.
 * Both read {@value #DATA_BYTES} bytes written at setup (from the page cache), then start over.
 * MB/s = ops/s x recordBytes. Uses only the journal API that predates the log engine, so the
 * class compiles against either. Files go to {@code -Dferry.bench.dir} (default: java.io.tmpdir).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class JournalReadBenchmark {
    private static final long DATA_BYTES = 128L << 20;

    @Param({"4096", "65536"})
    int recordBytes;

    private Path dir;
    private ChronicleJournal journal;
    private JournalReader reader;
    private final JournalEntry entry = new JournalEntry();

    private FileChannel channel;
    private ByteBuffer readBuffer;
    private long position;
    private long fileBytes;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = BenchFiles.newDirectory("ferry-journal-read-bench");
        ByteBuffer data = BenchFiles.randomData(recordBytes);
        journal = ChronicleJournal.open(dir.resolve("journal"), "bench");
        long records = DATA_BYTES / recordBytes;
        Path plain = dir.resolve("plain.dat");
        try (FileChannel out = FileChannel.open(plain, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long seq = 1; seq <= records; seq++) {
                journal.append("vol", seq, seq * recordBytes, recordBytes, seq, Journal.WRITE, data);
                data.position(0);
                while (data.hasRemaining()) {
                    out.write(data);
                }
                data.position(0);
            }
        }
        journal.sync();
        reader = journal.reader(1);
        channel = FileChannel.open(plain, StandardOpenOption.READ);
        fileBytes = channel.size();
        readBuffer = ByteBuffer.allocate(recordBytes);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        reader.close();
        journal.close();
        channel.close();
        BenchFiles.deleteTree(dir);
    }

    @Benchmark
    public long journalRead() {
        if (!reader.next(entry)) {
            reader.close();
            reader = journal.reader(journal.firstSeq());
            if (!reader.next(entry)) {
                throw new IllegalStateException("journal is empty");
            }
        }
        return entry.seq() + entry.data().get(0);
    }

    @Benchmark
    public long fileChannelRead() throws IOException {
        if (position >= fileBytes) {
            position = 0;
        }
        readBuffer.clear();
        while (readBuffer.hasRemaining()) {
            position += channel.read(readBuffer, position);
        }
        return position + readBuffer.get(0);
    }
}
