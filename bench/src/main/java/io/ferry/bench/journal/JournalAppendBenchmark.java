package io.ferry.bench.journal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import io.ferry.capture.journal.ChronicleJournal;
import io.ferry.capture.journal.Journal;
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
 * Journal append throughput against the floor of a plain {@link FileChannel#write} appending
 * the same bytes to a file, each without sync and with a sync every {@code syncEvery} appends
 * on the appending thread (what a group commit of that many records costs). Both sides keep
 * disk use bounded the same way: 256 MiB pieces, the older ones deleted. MB/s = ops/s x
 * recordBytes. Files go to {@code -Dferry.bench.dir} (default: java.io.tmpdir).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class JournalAppendBenchmark {
    private static final long PIECE_BYTES = 256L << 20;

    @Param({"4096", "65536"})
    int recordBytes;

    /** 0: never sync; n: sync after every n appends. */
    @Param({"0", "64"})
    int syncEvery;

    private Path dir;
    private ByteBuffer data;
    private ChronicleJournal journal;
    private long seq;
    private long sinceSync;

    private FileChannel channel;
    private Path channelFile;
    private Path previousChannelFile;
    private int pieceNumber;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = BenchFiles.newDirectory("ferry-journal-bench");
        data = BenchFiles.randomData(recordBytes);
        journal = ChronicleJournal.open(dir.resolve("journal"), "bench");
        seq = journal.lastSeq();
        openPiece();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        journal.close();
        channel.close();
        BenchFiles.deleteTree(dir);
    }

    @Benchmark
    public long journalAppend() {
        long s = ++seq;
        journal.append("vol", s, s * recordBytes, recordBytes, s, Journal.WRITE, data);
        if (syncEvery > 0 && ++sinceSync == syncEvery) {
            sinceSync = 0;
            journal.sync();
        }
        if ((s & 1023) == 0) {
            journal.release(s - (PIECE_BYTES / recordBytes));
        }
        return s;
    }

    @Benchmark
    public long fileChannelWrite() throws IOException {
        data.position(0);
        while (data.hasRemaining()) {
            channel.write(data);
        }
        if (syncEvery > 0 && ++sinceSync == syncEvery) {
            sinceSync = 0;
            channel.force(false);
        }
        long position = channel.position();
        if (position >= PIECE_BYTES) {
            openPiece();
        }
        return position;
    }

    private void openPiece() throws IOException {
        if (channel != null) {
            channel.close();
            if (previousChannelFile != null) {
                Files.delete(previousChannelFile);
            }
            previousChannelFile = channelFile;
        }
        channelFile = dir.resolve("plain-" + pieceNumber++ + ".dat");
        try {
            channel = FileChannel.open(channelFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
