package io.ferry.api;

/**
 * A sync under way as both daemons' status shows it: {@code kind} ({@code initial},
 * {@code resync}), the bytes of volume it covers and has covered, the bytes of data it read and
 * sent (holes and zeroes travel as no data), and the seconds left at the rate so far (null
 * before there is a rate).
 */
public record SyncStatus(String kind, long totalBytes, long doneBytes, long sentBytes, Double etaSeconds) {

    /** The status of a sync that began at {@code startNanos} and covered {@code done} bytes by {@code nowNanos}. */
    public static SyncStatus of(String kind, long total, long done, long sent, long startNanos, long nowNanos) {
        double seconds = (nowNanos - startNanos) / 1e9;
        Double eta = done > 0 && seconds > 0 ? Math.max(0, (total - done) / (done / seconds)) : null;
        return new SyncStatus(kind, total, done, sent, eta == null ? null : Math.round(eta * 10) / 10.0);
    }
}
