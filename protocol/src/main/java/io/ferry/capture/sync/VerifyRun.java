package io.ferry.capture.sync;

import java.util.List;

/**
 * A verify as {@code GET /v1/groups/{g}/verify} shows it: {@code state} running, done or failed
 * ({@code problem} says why), the seq it began at, the bytes compared, the ranges found
 * different (volume, offset, length; at most {@link GroupSync#MAX_LISTED_MISMATCHES}, all counted
 * in {@code mismatchedBytes}) and the bytes read again to repair them.
 */
public record VerifyRun(String group, String state, long seq, long totalBytes, long verifiedBytes,
        List<GroupSync.Mismatch> mismatches, long mismatchedBytes, long repairedBytes, boolean repair,
        String problem) {

    public VerifyRun {
        mismatches = List.copyOf(mismatches);
    }

    /** The verify's state while it runs, or when it ended, from its sync. */
    public static VerifyRun of(String group, GroupSync sync, String state, String problem) {
        return new VerifyRun(group, state, sync.beginSeq(), sync.totalBytes(), sync.doneBytes(), sync.mismatches(),
                sync.mismatchedBytes(), sync.repairedBytes(), sync.repair(), problem);
    }
}
