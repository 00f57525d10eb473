package forkserver.bench;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Runs the workloads against every model and returns their figures, <b>interleaved</b>: each
 * model's server is started at once, and the measurements go round the models in rounds, the
 * first model of a round one further each time. A machine whose speed drifts while the bench
 * runs (it is shared, it warms up) then slows every model alike, and no model owes its figure to
 * its place in the run.
 *
 * <p>Before every timed session the model's server is settled: its children of the last
 * session are gone, and a server with spares has its whole pool ready again. So every model is
 * measured as it is meant to run, the pause between two sessions of one model is one round for
 * all of them (equal pacing), and no process of one model still runs while another is timed.
 *
 * <p>Three sets of servers, so that each figure comes from a server that did only that:
 * <ol>
 *   <li>latency: sequential sessions (in rounds), bursts (in rounds), then held
 *       connections, model by model;</li>
 *   <li>idle servers under /usr/bin/time (started, one probe session, stopped): the cost of
 *       starting and stopping, to subtract;</li>
 *   <li>the sustained servers under /usr/bin/time, loaded in slices, round after round, their
 *       CPU read from /proc around each slice.</li>
 * </ol>
 * The first session a model fails ends that model (it is reported as failing, not averaged
 * over); the others go on.
 */
final class Measure {

    private static final Duration SETTLE = Duration.ofSeconds(60);

    private final Function<Integer, ServerContext> contexts;
    private final Workload work;
    private final Path logs;
    private final boolean timed;
    private final Progress progress;
    private final Map<Model, Lane> lanes = new LinkedHashMap<>();

    /** One model's way through the bench: its servers, what was measured, how it failed. */
    private static final class Lane {
        final Model model;
        String failure;
        final List<Long> firstEchoes = new ArrayList<>();
        final List<Double> bursts = new ArrayList<>();
        final List<Long> roundTrips = new ArrayList<>();
        TimeReport idle;
        TimeReport sustainedOutside;
        int sustainedSessions;
        double sustainedSeconds;
        long sustainedCpuMillis;

        Lane(Model model) {
            this.model = model;
        }

        boolean ok() {
            return failure == null;
        }
    }

    Measure(List<Model> models, Function<Integer, ServerContext> contexts, Workload work, Path logs, boolean timed,
            Progress progress) {
        this.contexts = contexts;
        this.work = work;
        this.logs = logs;
        this.timed = timed;
        this.progress = progress;
        models.forEach(model -> lanes.put(model, new Lane(model)));
    }

    List<Figures> run() {
        latency();
        if (timed) {
            idleBaselines();
        }
        sustained();
        return lanes.values().stream().map(this::figures).toList();
    }

    private Figures figures(Lane lane) {
        if (!lane.ok()) {
            return Figures.failed(lane.model, lane.failure);
        }
        double cpuOutside = Double.NaN;
        double voluntary = Double.NaN;
        double involuntary = Double.NaN;
        if (lane.idle != null && lane.sustainedOutside != null) {
            TimeReport sessions = lane.sustainedOutside.minus(lane.idle);
            cpuOutside = sessions.cpuMillis() / lane.sustainedSessions;
            voluntary = sessions.voluntarySwitches() / (double) lane.sustainedSessions;
            involuntary = sessions.involuntarySwitches() / (double) lane.sustainedSessions;
        }
        double[] firstEchoes = Stats.millis(lane.firstEchoes);
        return new Figures(lane.model, null, Stats.median(firstEchoes), Stats.percentile(firstEchoes, 99),
                Stats.percentile(lane.bursts.stream().mapToDouble(Double::doubleValue).toArray(), 50),
                Stats.percentileMillis(lane.roundTrips, 50),
                lane.sustainedSessions / lane.sustainedSeconds, lane.sustainedCpuMillis / (double) lane.sustainedSessions,
                cpuOutside, voluntary, involuntary);
    }

    /** Sequential sessions and bursts in rounds, then held connections, each model on its latency server. */
    private void latency() {
        Map<Lane, ModelServer> servers = startAll("latency", false);
        try {
            progress.phase("all models", "warm-up: " + work.warmup() + " rounds of one session each");
            rounds(servers, work.warmup(), (lane, server, round) -> Session.run(server.address(), "warm-up " + round));
            progress.phase("all models", work.sessions() + " rounds of one sequential session each");
            rounds(servers, work.sessions(), (lane, server, round) ->
                    lane.firstEchoes.add(Session.run(server.address(), "session " + round)));
            progress.phase("all models", work.bursts() + " rounds of a burst of " + work.connections() + " new connections");
            rounds(servers, work.bursts(), (lane, server, round) -> {
                long started = System.nanoTime();
                all(work.connections(), i -> Session.run(server.address(), "burst " + round + "." + i));
                lane.bursts.add((System.nanoTime() - started) / 1e6);
            });
            for (Map.Entry<Lane, ModelServer> entry : servers.entrySet()) {
                if (entry.getKey().ok()) {
                    progress.phase(entry.getKey().model.name(), work.connections() + " held connections");
                    attempt(entry.getKey(), entry.getValue(), () -> held(entry.getKey(), entry.getValue()));
                }
            }
        } finally {
            servers.values().forEach(ModelServer::close);
        }
    }

    /**
     * The round trip of a line on a held connection, K of them opened at once. (What a held
     * connection costs in memory is the scale ladder's: {@link Scale}, in repeated rounds.)
     */
    private void held(Lane lane, ModelServer server) {
        settle(lane.model, server);
        List<Session> open = all(work.connections(), i -> Session.open(server.address(), "held " + i));
        try {
            for (int trip = 0; trip < work.roundTrips(); trip++) {
                for (int i = 0; i < open.size(); i++) {
                    lane.roundTrips.add(open.get(i).roundTrip("held " + i + " line " + trip));
                }
            }
            open.forEach(Session::finish);
        } finally {
            open.forEach(Session::close);
        }
    }

    /** Idle servers under /usr/bin/time, all at once (nothing is timed but their own life): started, probed, stopped. */
    private void idleBaselines() {
        progress.phase("all models", "idle servers under /usr/bin/time (the baseline)");
        Map<Lane, ModelServer> servers = startAll("idle", true);
        try {
            servers.forEach((lane, server) -> attempt(lane, server, () -> {
                settle(lane.model, server);
                server.run().stop();
                lane.idle = server.run().timeReport();
            }));
        } finally {
            servers.values().forEach(ModelServer::close);
        }
    }

    /**
     * The sustained load in slices: in each round every model gets {@code concurrency} clients
     * running sessions back to back for one slice, its tree's CPU read from /proc before and
     * after (the servers wait for their children, so their CPU is counted). /usr/bin/time's
     * report covers each server's whole life, idle slices included, which costs next to
     * nothing; the idle baseline is subtracted from it.
     */
    private void sustained() {
        Map<Lane, ModelServer> servers = startAll("sustained", timed);
        try {
            int slices = work.slices();
            Duration slice = work.sustained().dividedBy(slices);
            progress.phase("all models", slices + " rounds of " + slice.toMillis() + " ms sustained by "
                    + work.concurrency() + " clients");
            rounds(servers, slices, (lane, server, round) -> {
                long cpuBefore = ProcessTree.cpuMillis(server.run().pid());
                long started = System.nanoTime();
                lane.sustainedSessions += sustain(server.address(), slice, work.maxSustained() / slices);
                lane.sustainedSeconds += (System.nanoTime() - started) / 1e9; // sessions at the deadline finish
                settle(lane.model, server);
                lane.sustainedCpuMillis += ProcessTree.cpuMillis(server.run().pid()) - cpuBefore;
            });
            servers.forEach((lane, server) -> attempt(lane, server, () -> {
                server.run().stop();
                lane.sustainedOutside = server.run().timeReport();
            }));
        } finally {
            servers.values().forEach(ModelServer::close);
        }
    }

    /** What one model does in one round. */
    @FunctionalInterface
    private interface Turn {
        void take(Lane lane, ModelServer server, int round);
    }

    /**
     * {@code count} rounds: in each, every model still passing takes its turn, every server
     * settled first (no child of another model's last session still exiting, no pool of spares
     * refilling: nothing else on the machine is the bench's while one model is timed); round r
     * starts with the model r places further down the list.
     */
    private void rounds(Map<Lane, ModelServer> servers, int count, Turn turn) {
        List<Map.Entry<Lane, ModelServer>> order = new ArrayList<>(servers.entrySet());
        for (int round = 0; round < count; round++) {
            for (int i = 0; i < order.size(); i++) {
                Map.Entry<Lane, ModelServer> entry = order.get((round + i) % order.size());
                Lane lane = entry.getKey();
                if (lane.ok()) {
                    int r = round;
                    settleAll(servers);
                    attempt(lane, entry.getValue(), () -> turn.take(lane, entry.getValue(), r));
                }
            }
        }
    }

    /** Starts one server per model still passing; a model whose server does not start fails. */
    private Map<Lane, ModelServer> startAll(String purpose, boolean underTime) {
        Map<Lane, ModelServer> servers = new LinkedHashMap<>();
        for (Lane lane : lanes.values()) {
            if (lane.ok()) {
                progress.phase(lane.model.name(), "starting its " + purpose + " server");
                try {
                    servers.put(lane, ModelServer.start(lane.model, contexts, logs, purpose, underTime));
                } catch (IllegalStateException | UncheckedIOException e) {
                    lane.failure = e.getMessage();
                }
            }
        }
        return servers;
    }

    /** Runs {@code step}; a failure marks the model as failing (with how its server ended, if it did). */
    private static void attempt(Lane lane, ModelServer server, Runnable step) {
        try {
            step.run();
        } catch (Session.Failure e) {
            String ended = server.run().endedEarly(Duration.ofSeconds(2));
            lane.failure = ended.isEmpty() ? e.getMessage() : e.getMessage() + " (" + ended + ")";
        } catch (IllegalStateException | UncheckedIOException e) {
            lane.failure = e.getMessage();
        }
    }

    /** Sessions back to back from {@code concurrency} clients for {@code slice}; returns how many. */
    private int sustain(InetSocketAddress server, Duration slice, int max) {
        long deadline = System.nanoTime() + slice.toNanos();
        AtomicInteger done = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        all(work.concurrency(), client -> {
            int i = 0;
            while (!stop.get() && System.nanoTime() < deadline && done.get() < max) {
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

    /** {@link #settle}s every server still passing, one reading of /proc at a time; one that cannot settle fails. */
    private static void settleAll(Map<Lane, ModelServer> servers) {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (true) {
            List<Map.Entry<Lane, ModelServer>> passing = servers.entrySet().stream().filter(e -> e.getKey().ok()).toList();
            Map<Long, Long> children = ProcessTree.descendants(passing.stream().map(e -> e.getValue().run().pid()).toList());
            List<Map.Entry<Lane, ModelServer>> busy = passing.stream()
                    .filter(e -> children.get(e.getValue().run().pid()) != e.getKey().model.idleChildren()
                            || !e.getKey().model.ready().test(e.getValue().log()))
                    .toList();
            if (busy.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                busy.forEach(e -> e.getKey().failure = "children still running, or spares not ready, "
                        + SETTLE.toSeconds() + " s after their sessions ended");
                return;
            }
            pause(5);
        }
    }

    /**
     * Waits until the server is back to what it is between clients: no child of a past session
     * left, and for a server with spares, its whole pool ready ({@link Model#idleChildren}
     * workers, each of which has said so).
     */
    private static void settle(Model model, ModelServer server) {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (ProcessTree.descendants(server.run().pid()) != model.idleChildren() || !model.ready().test(server.log())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("children still running, or spares not ready, "
                        + SETTLE.toSeconds() + " s after their sessions ended");
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
