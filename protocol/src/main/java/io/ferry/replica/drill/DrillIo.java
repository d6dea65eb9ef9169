package io.ferry.replica.drill;

import io.ferry.worker.CommandQueue;
import io.ferry.worker.Worker;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.Agent;

/**
 * The worker thread ({@code ferry-drill-<group>}) that runs a drill's clone I/O for the NBD
 * event loops, in arrival order: page-cache reads and writes, the copies a partial write needs,
 * and the scratch syncs of FLUSH and FUA. The loop hands a request over and moves on; the reply
 * is sent when the request's completion fires on this thread.
 *
 * <p>After {@link #close} requests are rejected (the clone answers ESHUTDOWN) and those still
 * queued run on the closing thread, where the closed clones answer them with EIO: no request is
 * left without a reply.
 */
final class DrillIo implements Executor, AutoCloseable {
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final CommandQueue requests;
    private final Worker worker;
    private volatile boolean closed;

    DrillIo(String group) {
        Worker[] started = new Worker[1];
        this.requests = new CommandQueue(() -> {
            Worker w = started[0];
            if (w != null) {
                w.wake();
            }
        });
        this.worker = Worker.start(new Agent() {
            @Override
            public int doWork() {
                return requests.drain();
            }

            @Override
            public String roleName() {
                return "ferry-drill-" + group;
            }
        }, IDLE_PARK_NANOS);
        started[0] = worker;
        worker.wake();
    }

    @Override
    public void execute(Runnable request) {
        if (closed) {
            throw new RejectedExecutionException("the drill is stopped");
        }
        requests.submit(request);
        if (closed) {
            requests.drain(); // raced with close: the worker may be gone
        }
    }

    /** Stops the worker after the request in progress; the queued ones run here. */
    @Override
    public void close() {
        closed = true;
        worker.close();
        requests.drain();
    }
}
