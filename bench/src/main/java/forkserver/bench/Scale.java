package forkserver.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The supervisor at thousands of connections, next to tcpserver: both hold N native sessions
 * (the C echo program each) and are measured side by side, interleaved: the server process's own
 * threads and memory per held connection (its own, not its children's), the first echo of a new
 * session while they hold them against while idle, and its memory once they have all ended.
 */
final class Scale {

    /** The models measured at scale: a process per connection with the least per process. */
    static final List<String> MODELS = List.of("process-native", "tcpserver-native");
    private static final int ROUNDS = 20;
    /**
     * Below one KiB per held connection is below what this figure is for, and a server's own PSS
     * even shrinks as its children come to share its pages: shown as "< 1", not as a negative size.
     */
    static final double RESOLUTION_KIB = 1;
    /** The JDK's reaper threads idle 60 s before they end (its cached pool's keep-alive): wait that and some. */
    static final Duration REAPERS_IDLE_OUT = Duration.ofSeconds(75);

    private final List<Model> models;
    private final Function<Integer, ServerContext> contexts;
    private final int connections;
    private final Path logs;
    private final Progress progress;
    private final boolean waitForIdleThreads;

    /** What the server process itself has: its resident and proportional memory, its threads. */
    record Own(long rssKiB, long pssKiB, long threads) {

        static Own of(long pid) {
            try {
                long rss = 0;
                long pss = 0;
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps_rollup"))) {
                    if (line.startsWith("Rss:")) {
                        rss = kib(line);
                    } else if (line.startsWith("Pss:")) {
                        pss = kib(line);
                    }
                }
                long threads = Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                        .filter(l -> l.startsWith("Threads:")).mapToLong(Scale::kib).findFirst().orElse(0);
                return new Own(rss, pss, threads);
            } catch (IOException e) {
                throw new IllegalStateException("the server " + pid + " is gone: " + e.getMessage(), e);
            }
        }
    }

    /** One server's figures at scale. */
    record Row(String model, String failure, Own idle, Own held, Own after, Stats.Median idleEcho,
               Stats.Median heldEcho, int connections) {
    }

    /** The scale table's rows. */
    record Figures(List<Row> rows, int connections, boolean afterIdleOut) {

        String report() {
            StringBuilder s = new StringBuilder();
            s.append("Scale: ").append(connections).append(" native sessions held by each server at once, measured")
                    .append(" side by side; memory and threads of the server's own process (its children not counted).\n\n");
            s.append("| server | threads idle → held | own RSS per held conn KiB | own PSS per held conn KiB"
                    + " | first echo p50 idle ms [95%] | at ").append(connections).append(" held ms [95%] | held / idle"
                    + " | own RSS after all ended − idle MiB |\n");
            s.append("|---|--:|--:|--:|--:|--:|--:|--:|\n");
            for (Row row : rows) {
                if (row.failure() != null) {
                    s.append("| ").append(row.model()).append(" | FAILED: ").append(row.failure().replace('|', '/')).append(" |||||||\n");
                    continue;
                }
                double n = row.connections();
                s.append("| ").append(String.join(" | ", row.model(),
                        row.idle().threads() + " → " + row.held().threads(),
                        Report.memory((row.held().rssKiB() - row.idle().rssKiB()) / n, RESOLUTION_KIB),
                        Report.memory((row.held().pssKiB() - row.idle().pssKiB()) / n, RESOLUTION_KIB),
                        interval(row.idleEcho()), interval(row.heldEcho()),
                        String.format(Locale.ROOT, "%.2f×", row.heldEcho().value() / row.idleEcho().value()),
                        row.after() == null ? "n/a" : Report.memory((row.after().rssKiB() - row.idle().rssKiB()) / 1024.0, 1)))
                        .append(" |\n");
            }
            s.append(afterIdleOut
                    ? "\n\"After\" is read once the JDK's idle reaper threads have ended (" + REAPERS_IDLE_OUT.toSeconds()
                            + " s after the last session).\n"
                    : "\n\"After\" is read once the sessions have ended, while the JDK's reaper threads still wait to"
                            + " idle out (60 s); the full run waits for them.\n");
            return s.toString();
        }

        private static String interval(Stats.Median m) {
            return Report.number(m.value()) + " [" + Report.number(m.low()) + "–" + Report.number(m.high()) + "]";
        }
    }

    Scale(List<Model> models, Function<Integer, ServerContext> contexts, int connections, Path logs, Progress progress,
          boolean waitForIdleThreads) {
        this.models = models;
        this.contexts = contexts;
        this.connections = connections;
        this.logs = logs;
        this.progress = progress;
        this.waitForIdleThreads = waitForIdleThreads;
    }

    static double estimateSeconds(Workload work, boolean waitForIdleThreads) {
        if (work.scaleConnections() == 0) {
            return 0;
        }
        return MODELS.size() * (2 + work.scaleConnections() * 0.003) + 2 * ROUNDS * 0.01
                + (waitForIdleThreads ? REAPERS_IDLE_OUT.toSeconds() : 0);
    }

    Figures run() {
        Map<Model, ModelServer> servers = new LinkedHashMap<>();
        Map<Model, String> failures = new LinkedHashMap<>();
        Map<Model, Own> idle = new LinkedHashMap<>();
        Map<Model, Own> held = new LinkedHashMap<>();
        Map<Model, List<Long>> idleEcho = new LinkedHashMap<>();
        Map<Model, List<Long>> heldEcho = new LinkedHashMap<>();
        Map<Model, List<Session>> open = new LinkedHashMap<>();
        Map<Model, Own> after = new LinkedHashMap<>();
        try {
            for (Model model : models) {
                progress.phase(model.name(), "starting its scale server");
                try {
                    servers.put(model, ModelServer.start(model, contexts, logs, "scale", false));
                } catch (IllegalStateException e) {
                    failures.put(model, e.getMessage());
                }
            }
            progress.phase("scale", ROUNDS + " rounds of one session each, idle");
            rounds(servers, failures, idleEcho, Map.of());
            servers.forEach((model, server) -> idle.put(model, Own.of(server.run().pid())));
            for (Map.Entry<Model, ModelServer> entry : servers.entrySet()) {
                progress.phase(entry.getKey().name(), "opening " + connections + " sessions and holding them");
                List<Session> sessions = new ArrayList<>();
                open.put(entry.getKey(), sessions);
                try {
                    for (int i = 0; i < connections; i++) {
                        sessions.add(Session.open(entry.getValue().address(), "held " + i));
                    }
                } catch (Session.Failure e) {
                    failures.put(entry.getKey(), e.getMessage());
                }
            }
            progress.phase("scale", ROUNDS + " rounds of one session each, with " + connections + " held");
            rounds(servers, failures, heldEcho, open);
            servers.forEach((model, server) -> held.put(model, Own.of(server.run().pid())));
            progress.phase("scale", "ending the held sessions");
            open.values().forEach(sessions -> sessions.forEach(Session::close));
            servers.forEach((model, server) -> settle(model, server, 0, failures));
            if (waitForIdleThreads) {
                progress.phase("scale", "waiting up to " + REAPERS_IDLE_OUT.toSeconds() + " s for idle threads to end");
                long deadline = System.nanoTime() + REAPERS_IDLE_OUT.toNanos();
                servers.forEach((model, server) -> {
                    while (Own.of(server.run().pid()).threads() > idle.get(model).threads() + 2
                            && System.nanoTime() < deadline) {
                        pause(Duration.ofMillis(500));
                    }
                });
            }
            servers.forEach((model, server) -> after.put(model, Own.of(server.run().pid())));
        } finally {
            open.values().forEach(sessions -> sessions.forEach(Session::close));
            servers.values().forEach(ModelServer::close);
        }
        List<Row> rows = new ArrayList<>();
        for (Model model : models) {
            String failure = failures.get(model);
            rows.add(failure != null || !held.containsKey(model)
                    ? new Row(model.name(), failure == null ? "not measured" : failure, null, null, null, null, null, connections)
                    : new Row(model.name(), null, idle.get(model), held.get(model), after.get(model),
                            Stats.median(Stats.millis(idleEcho.get(model))), Stats.median(Stats.millis(heldEcho.get(model))),
                            connections));
        }
        return new Figures(rows, connections, waitForIdleThreads);
    }

    /**
     * Interleaved first echoes, one session per server per round; before each, the server is back
     * to the children of its {@code held} sessions (the last timed session's child has exited).
     */
    private void rounds(Map<Model, ModelServer> servers, Map<Model, String> failures, Map<Model, List<Long>> into,
                        Map<Model, List<Session>> held) {
        List<Model> order = new ArrayList<>(servers.keySet());
        for (int round = 0; round < ROUNDS; round++) {
            for (int i = 0; i < order.size(); i++) {
                Model model = order.get((round + i) % order.size());
                ModelServer server = servers.get(model);
                if (failures.containsKey(model) || !settle(model, server, held.getOrDefault(model, List.of()).size(), failures)) {
                    continue;
                }
                try {
                    into.computeIfAbsent(model, m -> new ArrayList<>()).add(Session.run(server.address(), "scale " + round));
                } catch (Session.Failure e) {
                    failures.put(model, e.getMessage());
                }
            }
        }
    }

    /** Waits until {@code server} has {@code children} children at most; false (a failure of the model's) after a minute. */
    private static boolean settle(Model model, ModelServer server, int children, Map<Model, String> failures) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (ProcessTree.descendants(server.run().pid()) > children) {
            if (System.nanoTime() > deadline) {
                failures.putIfAbsent(model, "children still running a minute after their sessions ended");
                return false;
            }
            pause(Duration.ofMillis(5));
        }
        return true;
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
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
