package io.ferry.capture.journal;

import io.ferry.log.LogException;
import io.ferry.log.LogOutput;
import io.ferry.log.RecordLog;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The {@link Journal} of one consistency group: one record per captured write on the shared log
 * engine ({@link RecordLog}, Chronicle Queue underneath), which owns the files, recovery, sync
 * and release. This class owns only the record's body and its checks.
 *
 * <h2>Record</h2>
 * One log record per seq (little-endian, after the engine's {@code firstSeq:8 lastSeq:8}):
 * {@code offset:8 length:8 captureNanos:8 type:1 volumeLength:1 volume:n (ASCII)}, then for
 * {@link #WRITE} the {@code length} payload bytes. The group is not repeated per record: it is
 * the journal's. A payload may be up to {@link #MAX_PAYLOAD_BYTES} (32 MiB).
 *
 * <h2>Durability</h2>
 * {@link #sync} is the engine's group-commit sync: any thread, concurrently with appends, makes
 * every record whose append returned before it durable. After a kill -9 the journal ends at its
 * last whole record (see {@link RecordLog}).
 *
 * <h2>Threads</h2>
 * The append thread (the group's pipeline thread) calls {@link #append}; the group's sync
 * thread calls {@link #sync}; readers are owned by one thread each; {@link #release} and
 * {@link #bytesOnDisk} are thread-safe.
 */
public final class ChronicleJournal implements Journal {

    /** Largest WRITE payload of one record. */
    public static final int MAX_PAYLOAD_BYTES = 32 << 20;
    static final int MAX_VOLUME_NAME_BYTES = 255;
    static final String KIND = "agent-journal";

    /** Tuning of a journal: the size at which it starts a new file. */
    public record Options(long segmentSizeBytes) {
        public Options {
            RecordLog.Options.requireSegmentBytes(segmentSizeBytes, "journal segmentSizeBytes");
        }

        public static Options defaults() {
            return new Options(RecordLog.Options.DEFAULT_SEGMENT_BYTES);
        }
    }

    private final RecordLog log;
    private final String group;

    private ChronicleJournal(RecordLog log, String group) {
        this.log = log;
        this.group = group;
    }

    /** Opens (creating if needed) the journal of {@code group} in {@code dir}, with default options. */
    public static ChronicleJournal open(Path dir, String group) {
        return open(dir, group, Options.defaults());
    }

    /**
     * Opens (creating if needed) the journal of {@code group} in {@code dir}: recovers
     * {@link #firstSeq()} and {@link #lastSeq()} from disk, including after a crash. Throws
     * {@link JournalException} when the directory holds another group's journal, is open
     * already, or has a gap.
     */
    public static ChronicleJournal open(Path dir, String group, Options options) {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(options, "options");
        try {
            return new ChronicleJournal(RecordLog.open(dir, KIND, group, "journal of group " + group,
                    new RecordLog.Options(options.segmentSizeBytes())), group);
        } catch (LogException e) {
            throw new JournalException(e.getMessage(), e);
        }
    }

    @Override
    public String group() {
        return group;
    }

    public Path directory() {
        return log.directory();
    }

    /**
     * {@inheritDoc}
     *
     * <p>No allocation: the record is written straight into the log's mapped file. Throws
     * {@link IllegalArgumentException} for a seq other than {@code lastSeq() + 1}, an unknown
     * type, a payload that does not match {@code length} or exceeds {@link #MAX_PAYLOAD_BYTES},
     * or a volume name that is not 1..255 ASCII characters.
     */
    @Override
    public void append(String volume, long seq, long offset, long length, long captureNanos, byte type,
                       ByteBuffer data) {
        int payloadBytes = checkRecord(volume, length, type, data);
        LogOutput out = log.beginAppend(seq, seq);
        try {
            out.writeLong(offset).writeLong(length).writeLong(captureNanos).writeByte(type)
                    .writeUnsignedByte(volume.length()).writeAscii(volume);
            if (payloadBytes > 0) {
                out.write(data);
            }
        } catch (RuntimeException e) {
            log.abortAppend();
            throw e;
        }
        log.commitAppend();
    }

    private int checkRecord(String volume, long length, byte type, ByteBuffer data) {
        if (volume == null || volume.isEmpty() || volume.length() > MAX_VOLUME_NAME_BYTES) {
            throw new IllegalArgumentException("journal of group " + group + ": volume name must be 1.."
                    + MAX_VOLUME_NAME_BYTES + " characters, got " + (volume == null ? "null" : volume.length()));
        }
        for (int i = 0; i < volume.length(); i++) {
            if (volume.charAt(i) > 0x7f) {
                throw new IllegalArgumentException("journal of group " + group + ": volume name must be ASCII: "
                        + volume);
            }
        }
        if (length < 0) {
            throw new IllegalArgumentException("journal of group " + group + ": negative length " + length);
        }
        switch (type) {
            case WRITE:
                if (length > MAX_PAYLOAD_BYTES) {
                    throw new IllegalArgumentException("journal of group " + group + ": WRITE of " + length
                            + " bytes exceeds the journal's record limit of " + MAX_PAYLOAD_BYTES + " bytes");
                }
                if (data == null || data.remaining() != length) {
                    throw new IllegalArgumentException("journal of group " + group + ": WRITE of length " + length
                            + " needs exactly that many readable bytes, got "
                            + (data == null ? "no buffer" : data.remaining()));
                }
                return (int) length;
            case WRITE_ZEROES:
            case TRIM:
                if (data != null) {
                    throw new IllegalArgumentException("journal of group " + group + ": record type " + type
                            + " carries no payload, data must be null");
                }
                return 0;
            default:
                throw new IllegalArgumentException("journal of group " + group + ": unknown record type " + type);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Thread-safe, meant for a thread other than the appender's (see {@link RecordLog#sync}).
     * Throws {@link io.ferry.log.LogException} if the sync fails; then durability is unknown.
     */
    @Override
    public void sync() {
        log.sync();
    }

    @Override
    public long lastSeq() {
        return log.lastSeq();
    }

    @Override
    public long firstSeq() {
        return log.firstSeq();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Also throws {@link IllegalArgumentException} for a seq above {@code lastSeq() + 1}. A
     * reader of {@code lastSeq() + 1} tails: it returns records as they are appended.
     */
    @Override
    public JournalReader reader(long fromSeq) {
        return new ChronicleJournalReader(group, log.reader(fromSeq));
    }

    /**
     * {@inheritDoc}
     *
     * <p>Thread-safe. Deletes every file whose last record is at most {@code seq}, never the one
     * being appended to; {@link #firstSeq()} moves to the first record of the oldest file left.
     */
    @Override
    public void release(long seq) {
        log.release(seq);
    }

    @Override
    public void startOver(long seq) {
        log.startOver(seq);
    }

    /** {@inheritDoc} <p>Thread-safe: the bytes the records take in the log's files. */
    @Override
    public long bytesOnDisk() {
        return log.bytesOnDisk();
    }

    /** The log underneath: for tests that tear a record. */
    RecordLog log() {
        return log;
    }

    /** The first seq of each file of the journal, oldest first. */
    long[] segmentFirstSeqs() {
        return log.fileFirstSeqs();
    }

    /**
     * Syncs (a clean shutdown leaves everything durable), then releases the files and the
     * directory lock. Call it after the append and sync threads have stopped. Idempotent.
     */
    @Override
    public void close() {
        log.close();
    }
}
