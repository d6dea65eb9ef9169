package io.ferry.capture.bitmap;

import io.ferry.capture.journal.Journal;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The agent's {@code journal.maxBytes}: one bound over the journals of all its groups. A group's
 * pipeline asks it before each append; a group whose append would pass it folds its journal into
 * its dirty map instead (bitmap mode). Thread-safe.
 */
public final class JournalBudget {

    /** What one record takes in the journal besides its payload (engine and record headers, volume name). */
    public static final int RECORD_OVERHEAD_BYTES = 320;

    private final long maxBytes;
    private final List<Journal> journals = new CopyOnWriteArrayList<>();

    public JournalBudget(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("journal maxBytes must be positive: " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    /** A bound so large that it never folds a journal (tests and tools). */
    public static JournalBudget unbounded() {
        return new JournalBudget(Long.MAX_VALUE);
    }

    public void add(Journal journal) {
        journals.add(journal);
    }

    public long maxBytes() {
        return maxBytes;
    }

    /** Bytes every journal takes now. */
    public long usedBytes() {
        long sum = 0;
        for (Journal j : journals) {
            sum += j.bytesOnDisk();
        }
        return sum;
    }

    /** Whether a record of {@code payloadBytes} still fits. */
    public boolean admits(long payloadBytes) {
        return maxBytes == Long.MAX_VALUE || usedBytes() + payloadBytes + RECORD_OVERHEAD_BYTES <= maxBytes;
    }
}
