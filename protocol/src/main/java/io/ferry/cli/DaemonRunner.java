package io.ferry.cli;

import io.ferry.config.ConfigException;
import io.ferry.tls.TlsFileException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The life of a ferry daemon process ({@code ferry agent}, {@code ferry receiver}): parses
 * {@code --config FILE [--pid-file FILE]}, launches the daemon, keeps it running until SIGTERM
 * or SIGINT, then closes it. Exit codes: 0 after a clean stop, 1 when the daemon fails at
 * runtime, 2 for bad usage or configuration (the message names the key or file).
 */
public final class DaemonRunner {

    private static final Logger LOG = LoggerFactory.getLogger(DaemonRunner.class);

    /** Loads the configuration file and starts the daemon. */
    @FunctionalInterface
    public interface Launcher {
        AutoCloseable launch(Path config) throws Exception;
    }

    /** {@code --config FILE [--pid-file FILE]}: runs one daemon until SIGTERM or SIGINT. */
    @Command(sortOptions = false)
    static final class DaemonCommand implements Callable<Integer> {
        @Option(names = "--config", required = true, paramLabel = "FILE", description = "the configuration file to run")
        Path config;

        @Option(names = "--pid-file", paramLabel = "FILE",
                description = "write the process id here once started; removed at exit")
        Path pidFile;

        @Mixin
        HelpOption help;

        private final String name;
        private final PrintStream err;
        private final Launcher launcher;

        DaemonCommand(String name, PrintStream err, Launcher launcher) {
            this.name = name;
            this.err = err;
            this.launcher = launcher;
        }

        @Override
        public Integer call() {
            return runDaemon(name, config, pidFile, err, launcher);
        }
    }

    private DaemonRunner() {
    }

    /**
     * The picocli command of daemon {@code name} ("agent", "receiver") described by
     * {@code description}, to add under {@code ferry} or run with {@link Cli#execute}.
     */
    public static CommandLine command(String name, String description, PrintStream err, Launcher launcher) {
        CommandLine commandLine = new CommandLine(new DaemonCommand(name, err, launcher));
        commandLine.setCommandName(name);
        commandLine.getCommandSpec().usageMessage().description(description);
        return commandLine;
    }

    /**
     * Runs daemon {@code name} ("agent", "receiver") described by {@code description}; returns
     * the process exit code once it has stopped.
     */
    public static int run(String name, String description, String[] args, PrintStream out, PrintStream err,
                          Launcher launcher) {
        return Cli.execute("ferry " + name, command(name, description, err, launcher), args, out, err);
    }

    private static int runDaemon(String name, Path config, Path pidFile, PrintStream err, Launcher launcher) {
        AutoCloseable node;
        try {
            node = launcher.launch(config);
        } catch (ConfigException e) {
            err.println("ferry " + name + ": " + e.getMessage());
            return 2;
        } catch (TlsFileException e) {
            err.println("ferry " + name + ": " + config + ": tls: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            LOG.debug("{} failed to start", name, e);
            err.println("ferry " + name + ": failed to start: " + describe(e));
            return 1;
        }

        Stopper stopper = new Stopper(name, node, pidFile);
        Thread hook = new Thread(stopper::stop, "ferry-" + name + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        CountDownLatch stopRequested = new CountDownLatch(1);
        boolean trapped = trapSignal("TERM", stopRequested::countDown) & trapSignal("INT", stopRequested::countDown);
        if (!trapped) {
            LOG.debug("cannot trap SIGTERM/SIGINT; the shutdown hook stops the {} (exit code 143/130)", name);
        }

        if (pidFile != null) {
            try {
                Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");
            } catch (IOException e) {
                err.println("ferry " + name + ": cannot write pid file " + pidFile + ": " + describe(e));
                stopper.stop();
                return 1;
            }
        }
        LOG.info("{} is up (pid {}); stop it with SIGTERM or Ctrl-C", name, ProcessHandle.current().pid());

        try {
            stopRequested.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("{} stopping", name);
        boolean clean = stopper.stop();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // the hook runs anyway; stop() is idempotent
        }
        if (!clean) {
            err.println("ferry " + name + ": failed to stop cleanly: " + describe(stopper.failure));
            return 1;
        }
        LOG.info("{} stopped", name);
        return 0;
    }
    /**
     * Runs {@code action} on the JVM's signal thread when {@code name} (TERM, INT) arrives, instead
     * of starting shutdown, so that main can close the node and exit 0. sun.misc.Signal is reached
     * reflectively because javac warns about it unsuppressibly; returns false if it is unavailable.
     */
    private static boolean trapSignal(String name, Runnable action) {
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Object handler = Proxy.newProxyInstance(DaemonRunner.class.getClassLoader(), new Class<?>[] {handlerClass},
                    (proxy, method, methodArgs) -> {
                        switch (method.getName()) {
                            case "handle":
                                action.run();
                                return null;
                            case "hashCode":
                                return System.identityHashCode(proxy);
                            case "equals":
                                return proxy == methodArgs[0];
                            default:
                                return "ferry " + name + " handler";
                        }
                    });
            Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
            handle.invoke(null, signalClass.getConstructor(String.class).newInstance(name), handler);
            return true;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.debug("cannot trap SIG{}", name, e);
            return false;
        }
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.toString() : message;
    }

    /** Closes the node and removes the pid file exactly once, from the main thread or the shutdown hook. */
    private static final class Stopper {
        private final String name;
        private final AutoCloseable node;
        private final Path pidFile;
        private final AtomicBoolean stopped = new AtomicBoolean();
        private volatile Throwable failure;

        Stopper(String name, AutoCloseable node, Path pidFile) {
            this.name = name;
            this.node = node;
            this.pidFile = pidFile;
        }

        /** Returns false if closing the node failed (see {@link #failure}). */
        boolean stop() {
            if (!stopped.compareAndSet(false, true)) {
                return failure == null;
            }
            try {
                node.close();
            } catch (Exception e) {
                failure = e;
                LOG.error("{} failed to stop cleanly", name, e);
            }
            if (pidFile != null) {
                try {
                    Files.deleteIfExists(pidFile);
                } catch (IOException e) {
                    LOG.warn("cannot remove pid file {}: {}", pidFile, e.toString());
                }
            }
            return failure == null;
        }
    }
}
