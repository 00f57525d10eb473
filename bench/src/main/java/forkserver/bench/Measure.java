package forkserver.bench;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Runs the workloads against one model and returns its figures. Three servers are started in
 * turn, so that each figure comes from a server that did only that:
 * <ol>
 *   <li>latency and memory: sequential sessions, a burst, then held connections;</li>
 *   <li>an idle server under /usr/bin/time (started, one probe session, stopped): the cost of
 *       starting and stopping, to subtract;</li>
 *   <li>the sustained run under /usr/bin/time, its CPU also read from /proc before and after.</li>
 * </ol>
 * The first session that fails ends the model: it is reported as failing, not averaged over.
 */
final class Measure {

    private static final Duration SETTLE = Duration.ofSeconds(60);

    private final Model model;
    private final Function<Integer, ServerContext> contexts;
    private final Workload work;
    private final Path logs;
    private final boolean timed;
    private final Progress progress;

    Measure(Model model, Function<Integer, ServerContext> contexts, Workload work, Path logs, boolean timed,
            Progress progress) {
        this.model = model;
        this.contexts = contexts;
        this.work = work;
        this.logs = logs;
        this.timed = timed;
        this.progress = progress;
    }

    Figures run() {
        try {
            return measure();
        } catch (Session.Failure | IllegalStateException | UncheckedIOException e) {
            return Figures.failed(model.name(), e.getMessage());
        }
    }

    /** What the first server measured: latency and memory. */
    private record Latency(double p50, double p99, double burstMs, double pssPerConn, double rssPerConn,
                           double heldRoundTripP50) {
    }

    /** What the sustained server measured; {@code outside} is null when not timed. */
    private record Load(int sessions, double seconds, long cpuMillis, TimeReport outside) {
    }

    private Figures measure() {
        Latency latency = latencyAndMemory();
        TimeReport idle = timed ? idleBaseline() : null;
        Load load = sustained();
        double cpuOutside = Double.NaN;
        double voluntary = Double.NaN;
        double involuntary = Double.NaN;
        if (idle != null && load.outside() != null) {
            TimeReport sessions = load.outside().minus(idle);
            cpuOutside = sessions.cpuMillis() / load.sessions();
            voluntary = sessions.voluntarySwitches() / (double) load.sessions();
            involuntary = sessions.involuntarySwitches() / (double) load.sessions();
        }
        return new Figures(model.name(), null, latency.p50(), latency.p99(), latency.burstMs(), latency.pssPerConn(),
                latency.rssPerConn(), latency.heldRoundTripP50(), load.sessions() / load.seconds(),
                load.cpuMillis() / (double) load.sessions(), cpuOutside, voluntary, involuntary);
    }

    /** Sequential sessions, a burst, then held connections, on one server. */
    private Latency latencyAndMemory() {
        ModelServer server = start("latency", false);
        try {
            progress.phase(model.name(), "warm-up, then " + work.sessions() + " sequential sessions");
            for (int i = 0; i < work.warmup(); i++) {
                Session.run(server.address(), "warm-up " + i);
                pause(model.pace().toMillis());
            }
            List<Long> firstEchoes = new ArrayList<>();
            for (int i = 0; i < work.sessions(); i++) {
                firstEchoes.add(Session.run(server.address(), "session " + i));
                pause(model.pace().toMillis());
            }

            progress.phase(model.name(), "burst of " + work.connections() + " new connections");
            long started = System.nanoTime();
            all(work.connections(), i -> Session.run(server.address(), "burst " + i));
            double burstMs = (System.nanoTime() - started) / 1e6;

            progress.phase(model.name(), work.connections() + " held connections");
            settle(server.run());
            ProcessTree.Memory before = ProcessTree.memory(server.run().pid());
            List<Session> open = all(work.connections(), i -> Session.open(server.address(), "held " + i));
            List<Long> roundTrips = new ArrayList<>();
            ProcessTree.Memory held;
            try {
                for (int trip = 0; trip < work.roundTrips(); trip++) {
                    for (int i = 0; i < open.size(); i++) {
                        roundTrips.add(open.get(i).roundTrip("held " + i + " line " + trip));
                    }
                }
                held = ProcessTree.memory(server.run().pid());
                open.forEach(Session::finish);
            } finally {
                open.forEach(Session::close);
            }
            double k = work.connections();
            return new Latency(Stats.percentileMillis(firstEchoes, 50), Stats.percentileMillis(firstEchoes, 99), burstMs,
                    (held.pssKiB() - before.pssKiB()) / k, (held.rssKiB() - before.rssKiB()) / k,
                    Stats.percentileMillis(roundTrips, 50));
        } catch (Session.Failure e) {
            throw explained(e, server);
        } finally {
            server.close();
        }
    }

    /** A server started, probed once and stopped under /usr/bin/time: what starting and stopping cost. */
    private TimeReport idleBaseline() {
        progress.phase(model.name(), "idle server under /usr/bin/time (the baseline)");
        try (ModelServer server = start("idle", true)) {
            settle(server.run());
            server.run().stop();
            return server.run().timeReport();
        }
    }

    /** The sustained run, its CPU read from /proc around it, under /usr/bin/time when timed. */
    private Load sustained() {
        progress.phase(model.name(), "sustained for " + work.seconds() + " s by " + work.concurrency() + " clients");
        ModelServer server = start("sustained", timed);
        try {
            settle(server.run());
            long cpuBefore = ProcessTree.cpuMillis(server.run().pid());
            long started = System.nanoTime();
            int sessions = sustain(server.address());
            double seconds = (System.nanoTime() - started) / 1e9; // sessions still running at the deadline finish
            settle(server.run());
            long cpu = ProcessTree.cpuMillis(server.run().pid()) - cpuBefore;
            server.run().stop();
            return new Load(sessions, seconds, cpu, server.run().timeReport());
        } catch (Session.Failure e) {
            throw explained(e, server);
        } finally {
            server.close();
        }
    }

    /**
     * A failed session, with how the server ended if it did so on its own: on a shared machine
     * another program may signal it (by a stale pid, say), and the row should say so.
     */
    private static Session.Failure explained(Session.Failure e, ModelServer server) {
        String ended = server.run().endedEarly(Duration.ofSeconds(2));
        return ended.isEmpty() ? e : new Session.Failure(e.getMessage() + " (" + ended + ")", e);
    }

    private ModelServer start(String purpose, boolean underTime) {
        return ModelServer.start(model, contexts, logs, purpose, underTime);
    }

    /** Sessions back to back from {@code concurrency} clients until the time is up; returns how many. */
    private int sustain(InetSocketAddress server) {
        long deadline = System.nanoTime() + work.sustained().toNanos();
        AtomicInteger done = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        all(work.concurrency(), client -> {
            int i = 0;
            while (!stop.get() && System.nanoTime() < deadline && done.get() < work.maxSustained()) {
                try {
                    Session.run(server, "client " + client + " session " + i++);
                } catch (Session.Failure e) {
                    stop.set(true); // the others stop too: the model has failed
                    throw e;
                }
                done.incrementAndGet();
            }
            return null;
        });
        return done.get();
    }

    /**
     * Runs {@code task} for 0..n-1 on n threads released at once, and returns the results in
     * order; the first failure is rethrown once every task has ended.
     */
    private static <T> List<T> all(int n, Function<Integer, T> task) {
        CountDownLatch ready = new CountDownLatch(n);
        CountDownLatch go = new CountDownLatch(1);
        try (ExecutorService threads = Executors.newFixedThreadPool(n)) {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                futures.add(threads.submit(() -> {
                    ready.countDown();
                    go.await();
                    return task.apply(index);
                }));
            }
            ready.await();
            go.countDown();
            List<T> results = new ArrayList<>();
            RuntimeException failure = null;
            for (Future<T> future : futures) {
                try {
                    results.add(future.get());
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                    }
                }
            }
            if (failure != null) {
                results.stream().filter(r -> r instanceof AutoCloseable).forEach(Measure::closeQuietly);
                throw failure;
            }
            return Collections.unmodifiableList(results);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void closeQuietly(Object closeable) {
        try {
            ((AutoCloseable) closeable).close();
        } catch (Exception ignored) {
            // already failing
        }
    }

    /** Waits until a process-per-connection server has reaped every child (no descendant left). */
    /** Waits until the server is back to its idle children (none, or its full pool of spares). */
    private void settle(ServerRun run) {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (ProcessTree.descendants(run.pid()) != model.idleChildren()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("children still running " + SETTLE.toSeconds() + " s after their sessions ended");
            }
            pause(10);
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
