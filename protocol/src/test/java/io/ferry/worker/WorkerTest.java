package io.ferry.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.agrona.concurrent.Agent;
import org.junit.jupiter.api.Test;

class WorkerTest {

    /** A worker fed through a command queue, as every ferry worker is. */
    private static final class QueueAgent implements Agent {
        final CommandQueue commands;
        final AtomicReference<Thread> closedOn = new AtomicReference<>();
        Worker worker;

        QueueAgent() {
            this.commands = new CommandQueue(() -> worker.wake());
        }

        @Override
        public int doWork() {
            return commands.drain();
        }

        @Override
        public void onClose() {
            closedOn.set(Thread.currentThread());
        }

        @Override
        public String roleName() {
            return "ferry-test-worker";
        }
    }

    @Test
    void shouldRunCommandsOnTheOwnerThreadAndAnswerWithoutWaitingForTheIdlePark() throws Exception {
        QueueAgent agent = new QueueAgent();
        // an idle park of a minute: only wake() can make the answer come back in time
        agent.worker = Worker.start(agent, TimeUnit.MINUTES.toNanos(1));
        try {
            Thread.sleep(50); // let it park
            CompletableFuture<String> name = agent.commands.call(() -> Thread.currentThread().getName());
            assertThat(name.get(10, TimeUnit.SECONDS)).isEqualTo("ferry-test-worker");
        } finally {
            agent.worker.close();
        }
        assertThat(agent.closedOn.get().getName()).isEqualTo("ferry-test-worker");
        assertThat(agent.worker.isRunning()).isFalse();
    }

    @Test
    void shouldHandACommandsExceptionToItsCaller() throws Exception {
        QueueAgent agent = new QueueAgent();
        agent.worker = Worker.start(agent, Worker.DEFAULT_IDLE_PARK_NANOS);
        try {
            CompletableFuture<Object> failed = agent.commands.call(() -> {
                throw new IllegalStateException("no such point");
            });
            assertThatThrownBy(() -> failed.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasRootCauseMessage("no such point");
            // the worker goes on after a failed command
            assertThat(agent.commands.call(() -> 42).get(10, TimeUnit.SECONDS)).isEqualTo(42);
        } finally {
            agent.worker.close();
        }
    }

    @Test
    void shouldKeepLoopingAfterAnErrorAndReportIt() {
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        Agent flaky = new Agent() {
            @Override
            public int doWork() {
                if (calls.incrementAndGet() == 1) {
                    throw new IllegalStateException("first call fails");
                }
                return 0;
            }

            @Override
            public String roleName() {
                return "ferry-flaky";
            }
        };
        try (Worker worker = Worker.start(flaky, TimeUnit.MILLISECONDS.toNanos(1), errors::add)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() > 3);
            assertThat(worker.isRunning()).isTrue();
        }
        assertThat(errors).singleElement().extracting(Throwable::getMessage).isEqualTo("first call fails");
    }

    @Test
    void shouldStopAWorkerBlockedInWorkByInterruptingIt() {
        AtomicReference<Boolean> interrupted = new AtomicReference<>(false);
        Agent blocked = new Agent() {
            @Override
            public int doWork() throws InterruptedException {
                try {
                    Thread.sleep(TimeUnit.MINUTES.toMillis(10));
                } catch (InterruptedException e) {
                    interrupted.set(true);
                    throw e;
                }
                return 1;
            }

            @Override
            public String roleName() {
                return "ferry-blocked";
            }
        };
        Worker worker = Worker.start(blocked, Worker.DEFAULT_IDLE_PARK_NANOS);
        await().pollDelay(Duration.ofMillis(50)).until(() -> true);
        worker.close();
        assertThat(interrupted.get()).isTrue();
        assertThat(worker.isRunning()).isFalse();
    }

    @Test
    void shouldFailOnlyTheGroupThatThrowsAndKeepServingTheOthers() {
        List<String> failed = new ArrayList<>();
        GroupFaults faults = new GroupFaults("ferry-test", (group, cause) -> failed.add(group + ": " + cause.getMessage()));
        AtomicInteger goodRuns = new AtomicInteger();
        AtomicInteger badRuns = new AtomicInteger();
        for (int i = 0; i < 3; i++) {
            faults.run("bad", () -> {
                badRuns.incrementAndGet();
                throw new java.io.IOException("disk gone");
            });
            faults.run("good", goodRuns::incrementAndGet);
        }
        assertThat(badRuns).hasValue(1);
        assertThat(goodRuns).hasValue(3);
        assertThat(failed).containsExactly("bad: disk gone");
        assertThat(faults.failure("bad")).isEqualTo("disk gone");
        assertThat(faults.failure("good")).isNull();
    }
}
