package forkserver.bench;

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
        } catch (Session.Failure | IllegalStateException e) {
            return Figures.failed(model.name(), e.getMessage());
        }
    }

    private Figures measure() {
        double p50;
        double p99;
        double burst;
        ProcessTree.Memory idle;
        ProcessTree.Memory held;
        List<Long> roundTrips;
        ModelServer server = start("latency", false);
        try {
            progress.phase(model.name(), "warm-up, then " + work.sessions() + " sequential sessions");
            for (int i = 0; i < work.warmup(); i++) {
                Session.run(server.address(), "warm-up " + i);
            }
            List<Long> firstEchoes = new ArrayList<>();
            for (int i = 0; i < work.sessions(); i++) {
                firstEchoes.add(Session.run(server.address(), "session " + i));
            }
            p50 = Stats.percentileMillis(firstEchoes, 50);
            p99 = Stats.percentileMillis(firstEchoes, 99);

            progress.phase(model.name(), "burst of " + work.connections() + " new connections");
            long started = System.nanoTime();
            all(work.connections(), i -> Session.run(server.address(), "burst " + i));
            burst = (System.nanoTime() - started) / 1e6;

            progress.phase(model.name(), work.connections() + " held connections");
            settle(server.run());
            idle = ProcessTree.memory(server.run().pid());
            List<Session> open = all(work.connections(), i -> Session.open(server.address(), "held " + i));
            try {
                roundTrips = new ArrayList<>();
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
        } catch (Session.Failure e) {
            throw explained(e, server);
        } finally {
            server.close();
        }
        int k = work.connections();
        double pss = (held.pssKiB() - idle.pssKiB()) / (double) k;
        double rss = (held.rssKiB() - idle.rssKiB()) / (double) k;

        TimeReport baseline = null;
        if (timed) {
            progress.phase(model.name(), "idle server under /usr/bin/time (the baseline)");
            ModelServer idleServer = start("idle", true);
            try {
                settle(idleServer.run());
                idleServer.run().stop();
                baseline = idleServer.run().timeReport();
            } finally {
                idleServer.close();
            }
        }

        progress.phase(model.name(), "sustained for " + work.seconds() + " s by " + work.concurrency() + " clients");
        int sessions;
        long cpu;
        TimeReport sustained;
        ModelServer loadServer = start("sustained", timed);
        try {
            settle(loadServer.run());
            long cpuBefore = ProcessTree.cpuMillis(loadServer.run().pid());
            sessions = sustain(loadServer.address());
            settle(loadServer.run());
            cpu = ProcessTree.cpuMillis(loadServer.run().pid()) - cpuBefore;
            loadServer.run().stop();
            sustained = loadServer.run().timeReport();
        } catch (Session.Failure e) {
            throw explained(e, loadServer);
        } finally {
            loadServer.close();
        }
        double outsideCpu = Double.NaN;
        double voluntary = Double.NaN;
        double involuntary = Double.NaN;
        if (baseline != null && sustained != null) {
            TimeReport load = sustained.minus(baseline);
            outsideCpu = load.cpuMillis() / sessions;
            voluntary = load.voluntarySwitches() / (double) sessions;
            involuntary = load.involuntarySwitches() / (double) sessions;
        }
        return new Figures(model.name(), null, p50, p99, burst, pss, rss, Stats.percentileMillis(roundTrips, 50),
                sessions / (double) work.seconds(), cpu / (double) sessions, outsideCpu, voluntary, involuntary);
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
    private static void settle(ServerRun run) {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (ProcessTree.descendants(run.pid()) > 0) {
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
