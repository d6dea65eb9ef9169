package io.ferry.receiver;

import io.ferry.receiver.config.ReceiverConfig;
import io.ferry.config.ConfigException;
import io.ferry.tls.TlsFileException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry receiver --config receiver.yaml}: loads the configuration, launches a {@link ReceiverNode}
 * and keeps it running until SIGTERM or SIGINT. Exit codes: 0 after a clean stop, 1 when the
 * receiver fails at runtime, 2 for bad usage or configuration (the message names the key or file).
 */
public final class ReceiverMain {

    private static final Logger LOG = LoggerFactory.getLogger(ReceiverMain.class);

    @Command(name = "ferry receiver", sortOptions = false,
            description = "Runs the DR-site receiver: takes deltas from agents over TLS, journals and applies them to replicas.")
    static final class Options {
        @Option(names = "--config", required = true, paramLabel = "FILE", description = "the receiver.yaml to run")
        Path config;

        @Option(names = "--pid-file", paramLabel = "FILE",
                description = "write the process id here once started; removed at exit")
        Path pidFile;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
        boolean help;
    }

    private ReceiverMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the receiver command; returns the process exit code once the receiver has stopped. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Options options = new Options();
        CommandLine commandLine = new CommandLine(options);
        try {
            commandLine.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            err.println("ferry receiver: " + e.getMessage());
            commandLine.usage(err);
            return 2;
        }
        if (commandLine.isUsageHelpRequested()) {
            commandLine.usage(out);
            return 0;
        }

        ReceiverConfig config;
        ReceiverNode node;
        try {
            config = ReceiverConfig.load(options.config);
            node = ReceiverNode.launch(config);
        } catch (ConfigException e) {
            err.println("ferry receiver: " + e.getMessage());
            return 2;
        } catch (TlsFileException e) {
            err.println("ferry receiver: " + options.config + ": tls: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            LOG.debug("receiver failed to start", e);
            err.println("ferry receiver: failed to start: " + describe(e));
            return 1;
        }

        Stopper stopper = new Stopper(node, options.pidFile);
        Thread hook = new Thread(stopper::stop, "ferry-receiver-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        CountDownLatch stopRequested = new CountDownLatch(1);
        boolean trapped = trapSignal("TERM", stopRequested::countDown) & trapSignal("INT", stopRequested::countDown);
        if (!trapped) {
            LOG.debug("cannot trap SIGTERM/SIGINT; the shutdown hook stops the receiver (exit code 143/130)");
        }

        if (options.pidFile != null) {
            try {
                Files.writeString(options.pidFile, ProcessHandle.current().pid() + "\n");
            } catch (IOException e) {
                err.println("ferry receiver: cannot write pid file " + options.pidFile + ": " + describe(e));
                stopper.stop();
                return 1;
            }
        }
        LOG.info("receiver {} is up (pid {}); stop it with SIGTERM or Ctrl-C", config.id(),
                ProcessHandle.current().pid());

        try {
            stopRequested.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("receiver {} stopping", config.id());
        boolean clean = stopper.stop();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // the hook runs anyway; stop() is idempotent
        }
        if (!clean) {
            err.println("ferry receiver: failed to stop cleanly: " + describe(stopper.failure));
            return 1;
        }
        LOG.info("receiver {} stopped", config.id());
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
            Object handler = Proxy.newProxyInstance(ReceiverMain.class.getClassLoader(), new Class<?>[] {handlerClass},
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
                                return "ferry receiver " + name + " handler";
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
        private final ReceiverNode node;
        private final Path pidFile;
        private final AtomicBoolean stopped = new AtomicBoolean();
        private volatile Throwable failure;

        Stopper(ReceiverNode node, Path pidFile) {
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
            } catch (RuntimeException e) {
                failure = e;
                LOG.error("receiver failed to stop cleanly", e);
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
