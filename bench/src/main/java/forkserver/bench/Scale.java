package forkserver.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Every model at scale: a ladder of N connections held at once (10, 100, 1000, 10,000), and at
 * each rung what a held connection costs: memory as PSS (the user pages, shared ones divided
 * among their users) and as the kernel charges it (a memory cgroup around the server: kernel
 * stacks, task structs, page tables and socket structures too), the round trip of a line on a
 * held connection, and the server's threads and processes.
 *
 * <p>Each model gets one server for the whole ladder, in its own cgroup, with a descriptor limit
 * that 10,000 connections fit. At each rung every model is measured in {@code rounds} rounds,
 * interleaved (the first model of a round one further each time); each measurement starts from
 * the settled server (no child of the last one left, spares ready), reads it idle twice (what it
 * drifts by on its own is the measurement's resolution), opens N sessions, times round trips on
 * up to {@link #ROUND_TRIP_SAMPLES} of them, reads it again, then ends every session with
 * {@code done} and waits for the server to settle.
 *
 * <p>A rung a model does not fit is skipped, with the reason, from what its rung below measured:
 * the memory it would take over {@link Budget#memoryKiB}, the time to open its connections over
 * {@link Budget#openSeconds} a round, or tasks (threads and processes) over what the kernel's
 * pid_max leaves free. A model that fails a rung is not taken higher.
 */
final class Scale {

    static final List<Integer> LADDER = List.of(10, 100, 1000, 10_000);
    static final List<Integer> QUICK_LADDER = List.of(10, 100);
    /** Descriptors each server may open: 10,000 connections and what a process per connection adds. */
    static final int DESCRIPTORS = 65_536;
    static final int ROUND_TRIP_SAMPLES = 200;
    private static final Duration SETTLE = Duration.ofSeconds(120);
    private static final Duration IDLE_DRIFT = Duration.ofMillis(100);

    private final List<Model> models;
    private final Function<Integer, ServerContext> contexts;
    private final List<Integer> ladder;
    private final int rounds;
    private final Budget budget;
    private final Path logs;
    private final Progress progress;

    /**
     * What a rung may cost a model before it is skipped.
     *
     * @param descriptors the descriptors a server's own process may open: {@link #DESCRIPTORS}, or
     *                    less where the hard limit the bench runs under is lower (a server cannot raise it)
     */
    record Budget(long memoryKiB, double openSeconds, long freeTasks, long descriptors) {

        Budget(long memoryKiB, double openSeconds, long freeTasks) {
            this(memoryKiB, openSeconds, freeTasks, DESCRIPTORS);
        }

        /**
         * A third of the memory available now (the rest for the run's other servers, its client and
         * whatever else shares the machine: 1000 worker JVMs, about 10 GiB, do not fit 24 GiB), {@code
         * openSeconds} a round, 90% of the pids free now, the descriptor limit.
         */
        static Budget ofThisMachine(double openSeconds) {
            long available = meminfo("MemAvailable:");
            long pidMax = readLong(Path.of("/proc/sys/kernel/pid_max"));
            long threadsMax = readLong(Path.of("/proc/sys/kernel/threads-max"));
            long tasks = ProcessHandle.allProcesses().mapToLong(p -> ProcessTree.threadsOf(p.pid())).sum();
            return new Budget(available / 3, openSeconds, (long) (Math.min(pidMax, threadsMax) * 0.9) - tasks,
                    Math.min(DESCRIPTORS, hardDescriptorLimit()));
        }

        /** This process's hard RLIMIT_NOFILE ("Max open files" in /proc/self/limits), which its servers inherit. */
        private static long hardDescriptorLimit() {
            try (Stream<String> lines = Files.lines(Path.of("/proc/self/limits"))) {
                return lines.filter(l -> l.startsWith("Max open files")).findFirst()
                        .map(l -> l.substring("Max open files".length()).strip().split("\\s+")[1])
                        .map(hard -> hard.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(hard)).orElse((long) DESCRIPTORS);
            } catch (IOException | RuntimeException e) {
                return DESCRIPTORS;
            }
        }
    }

    /** One measurement: one model, N held, one round. */
    record Sample(double pssKiB, double chargedKiB, double pssDriftKiB, double chargedDriftKiB, long threads,
                  long processes, List<Long> roundTrips, double openSeconds, Own ownIdle, Own own) {
    }

    /**
     * The server's own process (the supervisor, for the process models) with N held, apart from
     * its children: what its registry, boxes and descriptors cost it. RSS and PSS in KiB.
     */
    record Own(double rssKiB, double pssKiB, long threads, long descriptors) {
        static final Own NONE = new Own(Double.NaN, Double.NaN, 0);

        Own(double rssKiB, double pssKiB, long threads) {
            this(rssKiB, pssKiB, threads, 0);
        }

        static Own of(long pid) {
            Map<String, Long> rollup = ProcessTree.smapsRollup(pid);
            long descriptors;
            try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
                descriptors = fds.count();
            } catch (IOException | UncheckedIOException e) {
                descriptors = 0; // gone: the rung fails on its own
            }
            return new Own(rollup.getOrDefault("Rss", 0L), rollup.getOrDefault("Pss", 0L), ProcessTree.threadsOf(pid), descriptors);
        }

        /** The median of each figure over the rounds. */
        static Own median(List<Own> rounds) {
            return new Own(Stats.percentile(rounds.stream().mapToDouble(Own::rssKiB).toArray(), 50),
                    Stats.percentile(rounds.stream().mapToDouble(Own::pssKiB).toArray(), 50),
                    Math.round(Stats.percentile(rounds.stream().mapToDouble(Own::threads).toArray(), 50)),
                    Math.round(Stats.percentile(rounds.stream().mapToDouble(Own::descriptors).toArray(), 50)));
        }
    }

    /**
     * One model at one rung, over its rounds; or why it was not measured there.
     *
     * @param pss               PSS per held connection, KiB: the median over the rounds and their range
     * @param charged           the cgroup's charge per held connection, KiB, likewise; NaN without a cgroup
     * @param pssResolution     what the idle server drifted by, per connection (at least a page in all)
     * @param chargedResolution the same for the charge (at least the kernel's charge batches)
     * @param threads           the server's threads with N held, its whole tree
     * @param processes         the server's processes with N held, its whole tree
     * @param roundTrip         a line's round trip on a held connection: median and 95% interval
     * @param openMsPerConn     opening a connection (to its first echo) while the others are held
     * @param ownIdle           the server's own process idle before the sessions, likewise
     * @param own               the server's own process with N held: the median RSS and PSS over the rounds, its threads
     */
    record Point(Model model, int held, String notMeasured, Stats.Median pss, Stats.Median charged,
                 double pssResolution, double chargedResolution, long threads, long processes, Stats.Median roundTrip,
                 double openMsPerConn, Own ownIdle, Own own) {

        Point(Model model, int held, String notMeasured, Stats.Median pss, Stats.Median charged, double pssResolution,
              double chargedResolution, long threads, long processes, Stats.Median roundTrip, double openMsPerConn) {
            this(model, held, notMeasured, pss, charged, pssResolution, chargedResolution, threads, processes, roundTrip,
                    openMsPerConn, Own.NONE, Own.NONE);
        }

        static Point not(Model model, int held, String why) {
            Stats.Median none = Stats.median(new double[0]);
            return new Point(model, held, why, none, none, Double.NaN, Double.NaN, 0, 0, none, Double.NaN);
        }

        boolean measured() {
            return notMeasured == null;
        }

        /** The charge per connection when its whole range is above the resolution, else NaN: fit for a ratio. */
        double clearCharged() {
            return measured() && charged.low() > chargedResolution ? charged.value() : Double.NaN;
        }

        double clearPss() {
            return measured() && pss.low() > pssResolution ? pss.value() : Double.NaN;
        }
    }

    /** The ladder's results: every model at every rung, and why the charge is missing if it is. */
    record Figures(List<Point> points, List<Integer> ladder, int rounds, String cgroupMissing) {

        List<Point> of(Model model) {
            return points.stream().filter(p -> p.model().equals(model)).toList();
        }

        /** The highest rung {@code model} was measured at. */
        Point top(Model model) {
            return of(model).stream().filter(Point::measured).reduce((a, b) -> b).orElse(null);
        }

        Point at(String model, int held) {
            return points.stream().filter(p -> p.model().name().equals(model) && p.held() == held).findFirst().orElse(null);
        }
    }

    Scale(List<Model> models, Function<Integer, ServerContext> contexts, List<Integer> ladder, int rounds, Budget budget,
          Path logs, Progress progress) {
        this.models = models;
        this.contexts = contexts;
        this.ladder = ladder;
        this.rounds = rounds;
        this.budget = budget;
        this.logs = logs;
        this.progress = progress;
    }

    /** A rough time to open one connection to {@code model} on two shared cores, in seconds. */
    static double openSecondsGuess(Model model) {
        return switch (model.perConnection()) {
            case JVM -> 0.25;
            case PROCESS -> 0.004;
            case NOTHING -> 0.0005;
        };
    }

    /**
     * A rough guess for the estimate printed before a run, in seconds: each rung that {@link #fits}
     * would let a model open within {@code openSeconds}, each round its opening, its closing and
     * the settling after it (about 2.5 times the opening).
     */
    static double estimateSeconds(List<Model> models, List<Integer> ladder, int rounds, double openSeconds) {
        double total = 0;
        for (Model model : models) {
            double perConnection = openSecondsGuess(model);
            total += ladder.isEmpty() ? 0 : 0.5; // its server's start
            for (int held : ladder) {
                double open = held * perConnection;
                if (open > openSeconds) {
                    break;
                }
                total += rounds * (0.3 + open * 2.5);
            }
        }
        return total;
    }

    Figures run() {
        Map<Model, ModelServer> servers = new LinkedHashMap<>();
        Map<Model, MemoryCgroup> cgroups = new LinkedHashMap<>();
        Map<Model, String> stopped = new LinkedHashMap<>();
        List<Point> points = new ArrayList<>();
        boolean anyCgroup = false;
        try {
            for (Model model : models) {
                String why = fits(model, null, ladder.getFirst());
                if (why != null) {
                    stopped.put(model, why); // reported at the first rung, with this reason
                    continue;
                }
                progress.phase(model.name(), "starting its scale server");
                MemoryCgroup cgroup = MemoryCgroup.create(model.name());
                anyCgroup |= cgroup != null;
                if (cgroup != null) {
                    cgroups.put(model, cgroup);
                }
                try {
                    servers.put(model, ModelServer.start(model, contexts, logs, "scale", false,
                            command -> MemoryCgroup.wrap(cgroup, DESCRIPTORS, command)));
                } catch (RuntimeException e) {
                    stopped.put(model, "its server did not start: " + e.getMessage());
                }
            }
            Map<Model, Point> below = new LinkedHashMap<>();
            for (int held : ladder) {
                Map<Model, List<Sample>> samples = new LinkedHashMap<>();
                for (Model model : models) {
                    String why = stopped.containsKey(model) ? stopped.get(model) : fits(model, below.get(model), held);
                    if (why != null) {
                        boolean first = !stopped.containsKey(model) || held == ladder.getFirst();
                        stopped.putIfAbsent(model, why);
                        points.add(Point.not(model, held, first ? why : "not measured at " + held + " held"));
                    } else {
                        samples.put(model, new ArrayList<>());
                    }
                }
                List<Model> order = new ArrayList<>(samples.keySet());
                for (int round = 0; round < rounds; round++) {
                    for (int i = 0; i < order.size(); i++) {
                        Model model = order.get((round + i) % order.size());
                        if (stopped.containsKey(model)) {
                            continue;
                        }
                        progress.phase(model.name(), "scale: " + held + " held, round " + (round + 1) + " of " + rounds);
                        try {
                            samples.get(model).add(measure(model, servers.get(model), cgroups.get(model), held));
                        } catch (Session.Failure | IllegalStateException e) {
                            String ended = servers.get(model).run().endedEarly(Duration.ofSeconds(2));
                            stopped.put(model, "failed at " + held + " held: " + e.getMessage()
                                    + (ended.isEmpty() ? "" : " (" + ended + ")"));
                            try {
                                settle(model, servers.get(model), 0);
                            } catch (IllegalStateException again) {
                                // it stays stopped; the next model is measured anyway
                            }
                        }
                    }
                }
                for (Model model : order) {
                    Point point = stopped.containsKey(model) && stopped.get(model).startsWith("failed at " + held)
                            ? Point.not(model, held, stopped.get(model))
                            : point(model, held, samples.get(model));
                    points.add(point);
                    below.put(model, point);
                }
            }
        } finally {
            servers.values().forEach(ModelServer::close);
            cgroups.values().forEach(MemoryCgroup::close);
        }
        List<Point> ordered = new ArrayList<>();
        for (Model model : models) {
            points.stream().filter(p -> p.model().equals(model)).forEach(ordered::add);
        }
        return new Figures(ordered, ladder, rounds, anyCgroup ? null : MemoryCgroup.unavailable());
    }

    /**
     * Null when {@code held} fits this machine, judged from the rung below (on the lowest rung,
     * from a rough time per connection for what the model starts); else why not.
     */
    String fits(Model model, Point below, int held) {
        if (below == null) {
            double open = openSecondsGuess(model) * held;
            return open <= budget.openSeconds() ? null : tooLong(open, (model.perConnection() == Model.Start.JVM
                    ? "a JVM start" : "a process start") + " each, roughly");
        }
        if (!below.measured()) {
            return "not measured at " + below.held() + " held";
        }
        double perConnection = Math.max(below.pss().value(), Double.isNaN(below.charged().value()) ? 0 : below.charged().value());
        double memory = perConnection * held;
        if (memory > budget.memoryKiB()) {
            return String.format(Locale.ROOT, "would take about %.1f GiB (%s KiB a connection at %d held),"
                    + " over a third of the %.1f GiB this machine had available", memory / 1048576,
                    Report.number(perConnection), below.held(), 3 * budget.memoryKiB() / 1048576.0);
        }
        // Ten connections are too few to time: one scheduling delay is most of it. Below 100 the guess.
        double open = (below.held() >= 100 ? below.openMsPerConn() / 1000 : openSecondsGuess(model)) * held;
        if (open > budget.openSeconds()) {
            return tooLong(open, below.held() < 100
                    ? (model.perConnection() == Model.Start.JVM ? "a JVM start" : "a process start") + " each, roughly"
                    : Report.number(below.openMsPerConn()) + " ms a connection at " + below.held() + " held");
        }
        // Every thread is a task with a pid, a process's first thread too: its threads are all its tasks.
        double tasks = below.threads() / (double) below.held() * held;
        if (tasks > budget.freeTasks()) {
            return String.format(Locale.ROOT, "would need about %.0f tasks (the server tree's threads: %.2f a connection at"
                    + " %d held), over the %d the kernel's pid_max leaves free", tasks,
                    below.threads() / (double) below.held(), below.held(), budget.freeTasks());
        }
        // The server's own process holds descriptors for each connection (the supervisor: about two a
        // child); past its limit it could not accept the rung's last connections.
        if (below.own().descriptors() > 0) {
            double each = Math.max(0, below.own().descriptors() - below.ownIdle().descriptors()) / (double) below.held();
            double descriptors = below.ownIdle().descriptors() + each * held;
            if (descriptors > budget.descriptors()) {
                return String.format(Locale.ROOT, "would need about %.0f descriptors in the server's own process (%.2f a"
                        + " connection at %d held), over its limit of %d (the hard limit of open files here)",
                        descriptors, each, below.held(), budget.descriptors());
            }
        }
        return null;
    }

    /** Why a rung whose connections take {@code open} seconds to open, a round, is skipped: in minutes where it is. */
    private String tooLong(double open, String basis) {
        return String.format(Locale.ROOT, "opening them would take about %s a round (%s), %s for its %d rounds on this"
                + " machine, over the %.0f s a round the bench gives a rung", duration(open), basis, duration(open * rounds),
                rounds, budget.openSeconds());
    }

    /** "50 s", or "4.2 min" from two minutes on. */
    private static String duration(double seconds) {
        return seconds < 120 ? String.format(Locale.ROOT, "%.0f s", seconds) : String.format(Locale.ROOT, "%.1f min", seconds / 60);
    }

    private Point point(Model model, int held, List<Sample> samples) {
        if (samples.isEmpty()) {
            return Point.not(model, held, "no round measured");
        }
        double n = held;
        double[] pss = samples.stream().mapToDouble(s -> s.pssKiB() / n).toArray();
        double[] charged = samples.stream().mapToDouble(s -> s.chargedKiB() / n).toArray();
        double pssResolution = samples.stream().mapToDouble(s -> Math.max(s.pssDriftKiB(), 4)).max().orElseThrow() / n;
        double chargedResolution = samples.stream().mapToDouble(s -> Math.max(s.chargedDriftKiB(),
                MemoryCgroup.CHARGE_BATCH_KIB * Runtime.getRuntime().availableProcessors())).max().orElseThrow() / n;
        Sample last = samples.getLast();
        List<Long> trips = samples.stream().flatMap(s -> s.roundTrips().stream()).toList();
        double open = samples.stream().mapToDouble(Sample::openSeconds).average().orElseThrow() * 1000 / n;
        Own own = Own.median(samples.stream().map(Sample::own).toList());
        Own ownIdle = Own.median(samples.stream().map(Sample::ownIdle).toList());
        return new Point(model, held, null, Stats.range(pss), Stats.range(charged), pssResolution, chargedResolution,
                last.threads(), last.processes(), Stats.median(Stats.millis(trips)), open, ownIdle, own);
    }

    /** One round of one model at one rung; the server settled before and after. */
    private Sample measure(Model model, ModelServer server, MemoryCgroup cgroup, int held) {
        long pid = server.run().pid();
        settle(model, server, 0);
        long chargedIdle = cgroup == null ? 0 : cgroup.usageKiB();
        ProcessTree.Memory idle = ProcessTree.memory(pid);
        pause(IDLE_DRIFT);
        long chargedBefore = cgroup == null ? 0 : cgroup.usageKiB();
        ProcessTree.Memory before = ProcessTree.memory(pid);
        Own ownIdle = Own.of(pid);
        List<Session> open = new ArrayList<>(held);
        try {
            long started = System.nanoTime();
            for (int i = 0; i < held; i++) {
                open.add(Session.open(server.address(), "scale " + held + " held " + i));
            }
            double openSeconds = (System.nanoTime() - started) / 1e9;
            settle(model, server, model.perConnection() == Model.Start.NOTHING ? 0 : held);
            List<Long> trips = new ArrayList<>();
            int step = Math.max(1, held / ROUND_TRIP_SAMPLES);
            for (int pass = 0; trips.size() < ROUND_TRIP_SAMPLES; pass++) {
                for (int i = 0; i < held && trips.size() < ROUND_TRIP_SAMPLES; i += step) {
                    trips.add(open.get(i).roundTrip("held " + i + " line " + pass));
                }
            }
            long chargedHeld = cgroup == null ? 0 : cgroup.usageKiB();
            ProcessTree.Memory memory = ProcessTree.memory(pid);
            long threads = ProcessTree.threads(pid);
            Own own = Own.of(pid);
            open.forEach(Session::finish);
            return new Sample(memory.pssKiB() - before.pssKiB(),
                    cgroup == null ? Double.NaN : chargedHeld - chargedBefore,
                    Math.abs(before.pssKiB() - idle.pssKiB()), Math.abs(chargedBefore - chargedIdle),
                    threads, memory.processes(), trips, openSeconds, ownIdle, own);
        } finally {
            open.forEach(Session::close);
            settle(model, server, 0);
        }
    }

    /**
     * Waits until the server has {@code held} children for its held connections (none for a model
     * without a process per connection) besides its spares, and its spares are ready.
     */
    private static void settle(Model model, ModelServer server, int held) {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (ProcessTree.descendants(server.run().pid()) != held + model.idleChildren() || !model.ready().test(server.log())) {
            if (!server.run().isAlive()) {
                throw new IllegalStateException("the server ended (" + server.run().endedEarly(Duration.ZERO) + ")");
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("its children were not " + held + " (and spares ready) "
                        + SETTLE.toSeconds() + " s on");
            }
            pause(Duration.ofMillis(held > 1000 ? 100 : 10));
        }
    }

    private static long meminfo(String field) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            return lines.filter(l -> l.startsWith(field)).findFirst().map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")))
                    .orElse(0L);
        } catch (IOException e) {
            return 0;
        }
    }

    private static long readLong(Path file) {
        try {
            // By lines: the JDK's readString trusts a /proc file's size, which it gets wrong.
            return Long.parseLong(Files.readAllLines(file).getFirst().strip());
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE / 2;
        }
    }

    private static void pause(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
