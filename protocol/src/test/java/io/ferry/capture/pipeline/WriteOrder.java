package io.ferry.capture.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Checks write-order fidelity over a recorded history: for every write B, every write A whose
 * reply came before B was issued must have a lower seq. Writers stamp each write with a global
 * reply counter read just before issuing it and the counter value its reply took.
 */
public final class WriteOrder {

    /** One write: the reply count seen before issuing it, the count its reply took, its seq. */
    public record Op(long issuedAfter, long repliedAt, long seq) {
    }

    private final List<Op> ops = new ArrayList<>();

    public void add(long issuedAfter, long repliedAt, long seq) {
        ops.add(new Op(issuedAfter, repliedAt, seq));
    }

    /**
     * Asserts the rule for every write and returns how many writes had a predecessor (one whose
     * reply came before they were issued), so a caller can check the history was concurrent
     * enough to mean something.
     */
    public int assertLaterWritesHaveHigherSeqs() {
        List<Op> byReply = new ArrayList<>(ops);
        byReply.sort(Comparator.comparingLong(Op::repliedAt));
        long[] maxSeqUpTo = new long[byReply.size()];
        long max = 0;
        for (int k = 0; k < byReply.size(); k++) {
            max = Math.max(max, byReply.get(k).seq());
            maxSeqUpTo[k] = max;
        }
        int withPredecessors = 0;
        for (Op op : ops) {
            int lo = 0;
            int hi = byReply.size();
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (byReply.get(mid).repliedAt() <= op.issuedAfter()) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if (lo > 0) {
                withPredecessors++;
                assertThat(maxSeqUpTo[lo - 1]).as("highest seq answered before %s was issued", op).isLessThan(op.seq());
            }
        }
        return withPredecessors;
    }
}
