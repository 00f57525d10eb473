package forkserver.bench;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * A model's server, started on a free loopback port and probed until it serves a whole echo
 * session; closing it ends the server and everything it started.
 */
public record ModelServer(ServerRun run, InetSocketAddress address, Path log) implements AutoCloseable {

    private static final Duration READY = Duration.ofSeconds(60);

    /**
     * Starts {@code model}'s server, its output in {@code logs/MODEL-PURPOSE.log}, under
     * /usr/bin/time when {@code timed} (its report in {@code MODEL-PURPOSE.time}).
     */
    public static ModelServer start(Model model, Function<Integer, ServerContext> contexts, Path logs, String purpose,
                                    boolean timed) {
        return start(model, contexts, logs, purpose, timed, UnaryOperator.identity());
    }

    /** The same, its command line passed through {@code wrap} (a cgroup and a descriptor limit for it). */
    public static ModelServer start(Model model, Function<Integer, ServerContext> contexts, Path logs, String purpose,
                                    boolean timed, UnaryOperator<List<String>> wrap) {
        int port = Ports.free();
        ServerContext context = contexts.apply(port);
        String name = model.name() + "-" + purpose;
        Path log = logs.resolve(name + ".log");
        ServerRun run = ServerRun.start(wrap.apply(model.command(context)), log, timed ? logs.resolve(name + ".time") : null,
                Map.of("JAVA_HOME", System.getProperty("java.home")));
        InetSocketAddress address = new InetSocketAddress(context.host(), port);
        try {
            awaitReady(run, address, name, log);
            return new ModelServer(run, address, log);
        } catch (RuntimeException e) {
            run.close();
            throw e;
        }
    }

    /** Probes with whole sessions until one succeeds: the server listens and speaks the protocol. */
    private static void awaitReady(ServerRun run, InetSocketAddress address, String name, Path log) {
        long deadline = System.nanoTime() + READY.toNanos();
        while (true) {
            try {
                Session.run(address, "probe");
                return;
            } catch (Session.Failure e) {
                boolean refused = e.getCause() instanceof ConnectException;
                if (!refused || !run.isAlive() || System.nanoTime() > deadline) {
                    String ended = run.isAlive() ? "" : " (" + run.endedEarly(Duration.ZERO) + ")";
                    throw new IllegalStateException(name + " did not serve (see " + log + "): " + e.getMessage() + ended, e);
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }

    @Override
    public void close() {
        run.close();
    }
}
