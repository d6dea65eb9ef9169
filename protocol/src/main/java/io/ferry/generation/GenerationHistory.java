package io.ferry.generation;

import java.util.ArrayList;
import java.util.List;

/**
 * A copy's chain of data generations, oldest first (DRBD's current, bitmap and history UUIDs):
 * each entry names a generation id and the seq its first write follows. A copy starts a new
 * generation when it becomes a primary on its own (a promote at the DR site starts one at the
 * promote's seq); writes continue the newest entry's seqs.
 *
 * <p>Two copies that meet compare their chains with {@link #relate}: the newest generation both
 * hold at the same start is their common ancestor; the seq where the chains part after it is
 * where they diverged; a side that started no generation since then but has seqs past that point
 * wrote while cut off. Immutable.
 */
public record GenerationHistory(List<Entry> entries) {

    /** At most this many generations are kept (the oldest are dropped: only the recent past is compared). */
    public static final int MAX_ENTRIES = 64;

    /** One generation: its id and the seq its first write follows. */
    public record Entry(long id, long startSeq) {
        public Entry {
            if (id == 0) {
                throw new IllegalArgumentException("a generation id is never 0");
            }
            if (startSeq < 0) {
                throw new IllegalArgumentException("startSeq is " + startSeq + ", must be >= 0");
            }
        }
    }

    public GenerationHistory {
        entries = List.copyOf(entries);
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("a history holds at least the current generation");
        }
        if (entries.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException(entries.size() + " generations, the maximum is " + MAX_ENTRIES);
        }
        for (int i = 1; i < entries.size(); i++) {
            if (entries.get(i).startSeq() < entries.get(i - 1).startSeq()) {
                throw new IllegalArgumentException("generation " + Long.toHexString(entries.get(i).id())
                        + " starts at seq " + entries.get(i).startSeq() + ", before the one it follows ("
                        + entries.get(i - 1).startSeq() + ")");
            }
        }
    }

    /** A copy that has had one generation since seq 0. */
    public static GenerationHistory of(long generationId) {
        return new GenerationHistory(List.of(new Entry(generationId, 0)));
    }

    public Entry current() {
        return entries.get(entries.size() - 1);
    }

    /** This history followed by generation {@code id} starting after {@code startSeq}. */
    public GenerationHistory begin(long id, long startSeq) {
        List<Entry> next = new ArrayList<>(entries);
        next.add(new Entry(id, startSeq));
        while (next.size() > MAX_ENTRIES) {
            next.remove(0);
        }
        return new GenerationHistory(next);
    }

    /** How two copies stand to each other. */
    public enum Kind {
        /** Same newest generation: one is at most behind the other. */
        SAME,
        /** This copy started a generation after the other's newest, and the other wrote nothing past it. */
        SELF_NEWER,
        /** The other started a generation after this one's newest, and this one wrote nothing past it. */
        OTHER_NEWER,
        /** Both went on after the common ancestor: both started generations, or the older one wrote past the divergence. */
        SPLIT_BRAIN,
        /** No generation in common: the copies are not of the same data. */
        UNRELATED;

        /** How status names it, from this copy's side. */
        public String label() {
            return switch (this) {
                case SAME -> "same";
                case SELF_NEWER -> "newer";
                case OTHER_NEWER -> "older";
                case SPLIT_BRAIN -> "split-brain";
                case UNRELATED -> "unrelated";
            };
        }
    }

    /**
     * The outcome of {@link #relate}.
     *
     * @param ancestor the common ancestor (null when unrelated)
     * @param divergedAtSeq the seq after which the chains part (the other's or this one's next start); -1 when unrelated
     * @param selfDivergentSeqs seqs this copy wrote past the divergence without starting a generation
     * @param otherDivergentSeqs the same for the other copy
     */
    public record Relation(Kind kind, Entry ancestor, long divergedAtSeq, long selfDivergentSeqs,
                           long otherDivergentSeqs) {
    }

    /**
     * How this copy, at {@code selfLastSeq}, stands to {@code other} at {@code otherLastSeq}
     * (each the last seq written in its newest generation's seq space).
     */
    public Relation relate(long selfLastSeq, GenerationHistory other, long otherLastSeq) {
        int self = entries.size() - 1;
        int theirs = -1;
        for (; self >= 0; self--) {
            theirs = other.entries.indexOf(entries.get(self));
            if (theirs >= 0) {
                break;
            }
        }
        if (self < 0) {
            return new Relation(Kind.UNRELATED, null, -1, 0, 0);
        }
        Entry ancestor = entries.get(self);
        boolean selfMovedOn = self < entries.size() - 1;
        boolean otherMovedOn = theirs < other.entries.size() - 1;
        if (!selfMovedOn && !otherMovedOn) {
            return new Relation(Kind.SAME, ancestor, Math.min(selfLastSeq, otherLastSeq), 0, 0);
        }
        long selfNext = selfMovedOn ? entries.get(self + 1).startSeq() : Long.MAX_VALUE;
        long otherNext = otherMovedOn ? other.entries.get(theirs + 1).startSeq() : Long.MAX_VALUE;
        long diverged = Math.min(selfNext, otherNext);
        if (selfMovedOn && otherMovedOn) {
            return new Relation(Kind.SPLIT_BRAIN, ancestor, diverged, Math.max(0, selfLastSeq - diverged),
                    Math.max(0, otherLastSeq - diverged));
        }
        if (otherMovedOn) {
            long divergent = Math.max(0, selfLastSeq - diverged);
            return new Relation(divergent > 0 ? Kind.SPLIT_BRAIN : Kind.OTHER_NEWER, ancestor, diverged, divergent,
                    Math.max(0, otherLastSeq - diverged));
        }
        long divergent = Math.max(0, otherLastSeq - diverged);
        return new Relation(divergent > 0 ? Kind.SPLIT_BRAIN : Kind.SELF_NEWER, ancestor, diverged,
                Math.max(0, selfLastSeq - diverged), divergent);
    }
}
