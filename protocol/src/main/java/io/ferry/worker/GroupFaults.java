package io.ferry.worker;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fault isolation for a worker that serves several consistency groups: each group's share of a
 * unit of work runs through {@link #run}; a group whose work throws is marked failed (one log
 * line, the reason kept for status) and skipped from then on, and the other groups keep running.
 *
 * <p>{@link #run} is called on the worker thread; {@link #failure} may be read by any thread.
 */
public final class GroupFaults {
    private static final Logger LOG = LoggerFactory.getLogger(GroupFaults.class);

    /** One group's share of a unit of work; returns how much it did. */
    @FunctionalInterface
    public interface GroupWork {
        int doWork() throws Exception;
    }

    /** Told once when a group fails; called on the worker thread. */
    @FunctionalInterface
    public interface FailureListener {
        void onGroupFailed(String group, Throwable cause);
    }

    private final String role;
    private final FailureListener listener;
    private final Map<String, String> failures = new ConcurrentHashMap<>();

    public GroupFaults(String role, FailureListener listener) {
        this.role = role;
        this.listener = listener;
    }

    /** Runs {@code work} unless {@code group} already failed; a throw fails the group. */
    public int run(String group, GroupWork work) {
        if (failures.containsKey(group)) {
            return 0;
        }
        try {
            return work.doWork();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        } catch (Throwable e) {
            fail(group, e);
            return 1;
        }
    }

    /** Marks {@code group} failed for the reason given. */
    public void fail(String group, Throwable cause) {
        String reason = cause.getMessage() == null ? cause.toString() : cause.getMessage();
        if (failures.putIfAbsent(group, reason) == null) {
            LOG.error("{}: group {} failed and is stopped, the other groups go on: {}", role, group, reason, cause);
            listener.onGroupFailed(group, cause);
        }
    }

    /** Null while the group is healthy; else why it failed. */
    public String failure(String group) {
        return failures.get(group);
    }
}
