package io.ferry.replica.journal;

import java.nio.file.Path;

/**
 * Runs in a child JVM for {@link DeltaJournalCrashTest}: appends {@code args[1]} records (4 seqs
 * each) to the journal in {@code args[0]}, syncs, then begins the next record, writes
 * part of it and halts, leaving a torn record behind. With {@code args[2] == "fresh"} the journal
 * is reopened first, so that the torn record is the first of a new file.
 */
public final class TornRecordChild {
    private TornRecordChild() {
    }

    public static void main(String[] args) {
        DeltaJournal journal = DeltaJournal.open(Path.of(args[0]), "g", DeltaJournalTest.SMALL);
        DeltaJournalTest.appendRecords(journal, Integer.parseInt(args[1]));
        journal.sync();
        if (args[2].equals("fresh")) {
            journal.close();
            journal = DeltaJournal.open(Path.of(args[0]), "g", DeltaJournalTest.SMALL);
        }
        long next = journal.lastSeq() + 1;
        journal.log().beginAppend(next, next + 3).writeLong(0).writeInt(100_000).write(new byte[50_000], 0, 50_000);
        System.out.println("torn");
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }
}
