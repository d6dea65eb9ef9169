package io.ferry.worker;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Work that other threads hand to a worker's owning thread (Aeron's proxies): a command runs
 * on the owner, between its units of work, so the state it touches keeps one owner.
 *
 * <p>Any thread submits; only the owner calls {@link #drain()}. {@link #call} gives the
 * caller a future completed by the owner, e.g. an API thread that waits for a rollback.
 */
public final class CommandQueue {
    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final Runnable wake;

    /** @param wake wakes the owner (usually {@link Worker#wake()}) after a command was queued */
    public CommandQueue(Runnable wake) {
        this.wake = wake;
    }

    /** Queues {@code command} for the owner. Any thread. */
    public void submit(Runnable command) {
        queue.add(command);
        wake.run();
    }

    /**
     * Queues {@code command} and returns a future the owner completes with its result or its
     * exception. Any thread.
     */
    public <T> CompletableFuture<T> call(Callable<T> command) {
        CompletableFuture<T> result = new CompletableFuture<>();
        submit(() -> {
            try {
                result.complete(command.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /**
     * Runs every queued command on the calling (owner) thread; returns how many ran. A command
     * submitted with {@link #submit} that throws does not stop the others: the exception is
     * rethrown after the drain.
     */
    public int drain() {
        int ran = 0;
        RuntimeException first = null;
        Runnable command;
        while ((command = queue.poll()) != null) {
            try {
                command.run();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
            ran++;
        }
        if (first != null) {
            throw first;
        }
        return ran;
    }

    public boolean isEmpty() {
        return queue.isEmpty();
    }
}
