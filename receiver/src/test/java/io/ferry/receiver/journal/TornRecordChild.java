package io.ferry.receiver.journal;

import java.nio.file.Path;

import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Runs in a child JVM for {@link DeltaJournalCrashTest}: appends {@code args[1]} records (4 seqs
 * each) to the journal in {@code args[0]}, syncs, then begins a document in the current
 * segment, writes part of a record and halts, leaving a torn record behind. With
 * {@code args[2] == "fresh"} the torn record is the first of a new segment.
 */
public final class TornRecordChild {
    private TornRecordChild() {
    }

    public static void main(String[] args) {
        DeltaJournal journal = DeltaJournal.open(Path.of(args[0]), "g", DeltaJournalTest.SMALL);
        DeltaJournalTest.appendRecords(journal, Integer.parseInt(args[1]));
        journal.sync();
        long next = journal.lastSeq() + 1;
        Path segmentDir;
        if (args[2].equals("fresh")) {
            segmentDir = Path.of(args[0]).resolve(JournalSegment.dirName(next));
        } else {
            JournalSegment[] segments = journal.segments();
            segmentDir = segments[segments.length - 1].dir;
        }
        SingleChronicleQueue queue = DeltaJournal.openQueue(segmentDir);
        ExcerptAppender appender = queue.createAppender();
        DocumentContext dc = appender.writingDocument();
        dc.wire().bytes().writeLong(next).writeLong(next + 3).writeLong(0).writeInt(100_000).writeSkip(50_000);
        System.out.println("torn");
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }
}
