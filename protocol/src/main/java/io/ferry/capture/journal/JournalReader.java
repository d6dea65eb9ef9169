package io.ferry.capture.journal;

/** Reads a group's journal in seq order. Owned by one thread. */
public interface JournalReader extends AutoCloseable {

    /**
     * Fills {@code into} with the next record and returns true, or returns false when the reader
     * has reached the end of what was appended so far (a later call may then return more).
     */
    boolean next(JournalEntry into);

    @Override
    void close();
}
