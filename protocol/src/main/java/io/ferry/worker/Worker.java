package io.ferry.worker;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.SleepingIdleStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way ferry runs a worker thread: an Agrona {@link Agent} on its own {@link AgentRunner}
 * thread, named {@code ferry-<role>}.
 *
 * <p>The rule for every worker: {@link Agent#doWork()} does a bounded amount of work and returns
 * how much it did; when it did none the thread parks for at most {@code idleParkNanos}, and
 * {@link #wake()} (any thread) ends the park at once, so a worker fed through a queue answers
 * without spinning a core. {@link #close()} stops the loop after the current {@code doWork},
 * runs {@link Agent#onClose()} on the worker thread and joins it; a worker that does not stop
 * is interrupted until it does. An interrupt of the worker thread means stop. An exception
 * thrown by {@code doWork} goes to the error handler (logged by default) and the loop goes on:
 * a worker that serves several groups isolates their faults with {@link GroupFaults}, and one
 * that must stop for good throws {@link org.agrona.concurrent.AgentTerminationException}.
 *
 * <p>Work from other threads is handed to the owner as commands ({@link CommandQueue}), never
 * by lending it a lock.
 */
public final class Worker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    public static final long DEFAULT_IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    private final AgentRunner runner;
    private volatile Thread thread;

    private Worker(Agent agent, long idleParkNanos, ErrorHandler onError) {
        Objects.requireNonNull(agent, "agent");
        this.runner = new AgentRunner(new SleepingIdleStrategy(idleParkNanos), onError, null, agent);
    }

    /** Starts {@code agent} on a daemon thread named after its role. */
    public static Worker start(Agent agent, long idleParkNanos) {
        return start(agent, idleParkNanos, error -> LOG.error("{}: {}", agent.roleName(), error.toString(), error));
    }

    /** Starts {@code agent} with its own error handler (called on the worker thread). */
    public static Worker start(Agent agent, long idleParkNanos, ErrorHandler onError) {
        Worker worker = new Worker(agent, idleParkNanos, onError);
        Thread t = new Thread(worker.runner, agent.roleName());
        t.setDaemon(true);
        worker.thread = t;
        t.start();
        return worker;
    }

    /** Ends the worker's idle park now: new work is queued. Any thread, cheap. */
    public void wake() {
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** True on the worker's own thread. */
    public boolean isWorkerThread() {
        return Thread.currentThread() == thread;
    }

    /** Whether the loop still runs (false once closed or terminated). */
    public boolean isRunning() {
        return !runner.isClosed() && thread != null && thread.isAlive();
    }

    /** Stops the loop after the current unit of work and waits for the thread to end. */
    @Override
    public void close() {
        runner.close();
    }
}
