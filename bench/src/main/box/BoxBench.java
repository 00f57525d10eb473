import forkserver.supervisor.box.Box;
import forkserver.supervisor.box.BoxLimits;
import forkserver.supervisor.box.Boxes;
import forkserver.supervisor.box.CgroupLayout;
import forkserver.supervisor.box.CpuPercent;
import forkserver.supervisor.box.MemorySize;
import forkserver.supervisor.box.TasksMax;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * bin/bench-box [ROUNDS]: what a box costs the supervisor per connection, and how long a child
 * runs before its box's limits hold, on this host's cgroups (as root). Side by side in one run:
 *
 * <ul>
 *   <li>a box's life, phase by phase (create, place a live process, read its cost, stop it with
 *       one leftover, remove), without limits and with all three;
 *   <li>the window: {@code boxwindow.c}, a probe that reads /proc/self/cgroup from its first
 *       instruction until it is in every hierarchy of its box, started as the supervisor starts
 *       a child (ProcessBuilder, then {@link Box#place}) and behind {@link Box#selfPlacing};
 *       and a JVM whose main() reads /proc/self/cgroup once (a quarter of the rounds: a JVM
 *       starts in tens of milliseconds).
 * </ul>
 *
 * Medians and 90th percentiles in microseconds, as Markdown on stdout. A source-file program run
 * against the supervisor's jar (the bench module does not link the supervisor), apart from the
 * Maven build.
 */
public final class BoxBench {

    private BoxBench() {
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        Path work = Files.createTempDirectory("forkserver-bench-box");
        try {
            Path probe = work.resolve("boxwindow");
            Process gcc = new ProcessBuilder("gcc", "-O2", "-o", probe.toString(),
                    home.resolve("bench/src/main/c/boxwindow.c").toString()).inheritIO().start();
            if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
                throw new IllegalStateException("gcc failed on boxwindow.c");
            }
            Path jvmProbe = work.resolve("BoxedAtMain.java");
            Files.writeString(jvmProbe, String.join("\n",
                    "public class BoxedAtMain {",
                    "    public static void main(String[] args) throws Exception {",
                    "        String text = java.nio.file.Files.readString(java.nio.file.Path.of(\"/proc/self/cgroup\"));",
                    "        System.out.println(text.split(args[0], -1).length - 1 >= Integer.parseInt(args[1]));",
                    "    }",
                    "}"));
            if (javax.tools.ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", work.toString(), jvmProbe.toString()) != 0) {
                throw new IllegalStateException("javac failed on the JVM probe");
            }
            String java = ProcessHandle.current().info().command().orElseThrow();
            CgroupLayout layout = CgroupLayout.detect();
            BoxLimits all = new BoxLimits(MemorySize.parse("256M"), TasksMax.parse("64"), CpuPercent.parse("100%"));
            System.out.println("# Boxes: cost per connection and the window before limits hold");
            System.out.println();
            System.out.println("`bin/bench-box " + rounds + "`, " + Instant.now() + ", " + Runtime.getRuntime().availableProcessors() + " cores, Linux "
                    + System.getProperty("os.version") + ", " + rounds + " rounds each, side by side; load average before: "
                    + Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
            System.out.println();
            System.out.println(layout.describe());
            System.out.println();
            Map<String, List<Long>> phases = new TreeMap<>();
            Map<String, List<Long>> windows = new TreeMap<>();
            try (Boxes none = Boxes.open(layout, BoxLimits.NONE); Boxes limited = Boxes.open(layout, all)) {
                for (int i = 0; i < rounds; i++) {
                    life(none, "no limits", phases);
                    life(limited, "memory, tasks, cpu", phases);
                    window(limited, probe, false, windows);
                    window(limited, probe, true, windows);
                    if (i % 4 == 0) {
                        jvm(limited, java, work, windows);
                    }
                }
            }
            System.out.println("| a box's life (µs) | " + String.join(" | ", List.of("create", "place", "cost", "stop 1 left", "remove", "total")) + " |");
            System.out.println("|---|---|---|---|---|---|---|");
            for (String config : List.of("no limits", "memory, tasks, cpu")) {
                StringBuilder row = new StringBuilder("| " + config + " |");
                for (String phase : List.of("create", "place", "cost", "stop", "remove", "total")) {
                    row.append(' ').append(figure(phases.get(config + "/" + phase))).append(" |");
                }
                System.out.println(row);
            }
            System.out.println();
            System.out.println("| the window (µs) | probe's code ran unboxed | start() to placed | boxed before main |");
            System.out.println("|---|---|---|---|");
            for (String path : List.of("placed by the supervisor", "self-placing (/bin/sh)")) {
                List<Long> ran = windows.get(path + "/ran");
                long before = windows.get(path + "/reads").stream().filter(r -> r == 0).count();
                System.out.println("| " + path + " | " + figure(ran) + " | " + figure(windows.get(path + "/placed"))
                        + " | " + before + " of " + ran.size() + " |");
            }
            List<Long> jvm = windows.get("jvm");
            System.out.println("| a JVM (main reads /proc/self/cgroup) | - | - | "
                    + jvm.stream().filter(b -> b == 1).count() + " of " + jvm.size() + " |");
            System.out.println();
            System.out.println("median (90th percentile); 'start() to placed': from ProcessBuilder.start() returning"
                    + " (the child has exec'd) to Box.place returning.");
        } finally {
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** One box's whole life with a live process in it, each phase timed. */
    private static void life(Boxes boxes, String config, Map<String, List<Long>> phases) throws Exception {
        Process sleep = new ProcessBuilder("sleep", "30").start();
        long t0 = System.nanoTime();
        Box box = boxes.create();
        long t1 = System.nanoTime();
        box.place(sleep.pid());
        long t2 = System.nanoTime();
        box.cost();
        long t3 = System.nanoTime();
        int left = box.stop(Duration.ZERO);
        long t4 = System.nanoTime();
        box.remove();
        long t5 = System.nanoTime();
        sleep.waitFor();
        if (left != 1) {
            throw new IllegalStateException("expected one leftover, found " + left);
        }
        add(phases, config + "/create", t1 - t0);
        add(phases, config + "/place", t2 - t1);
        add(phases, config + "/cost", t3 - t2);
        add(phases, config + "/stop", t4 - t3);
        add(phases, config + "/remove", t5 - t4);
        add(phases, config + "/total", t5 - t0);
    }

    /** One probe run: how long its code ran before it was in every hierarchy of its box. */
    private static void window(Boxes boxes, Path probe, boolean selfPlacing, Map<String, List<Long>> windows)
            throws Exception {
        try (Box box = boxes.create()) {
            List<String> command = List.of(probe.toString(), box.name(), Integer.toString(box.directories().size()));
            ProcessBuilder builder = new ProcessBuilder(selfPlacing ? Box.selfPlacing(command) : command);
            if (selfPlacing) {
                builder.environment().putAll(box.environment());
            }
            Process process = builder.start();
            long started = System.nanoTime();
            box.place(process.pid());
            long placed = System.nanoTime();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException("the probe failed: " + output);
            }
            String[] words = output.split(" ");
            String path = selfPlacing ? "self-placing (/bin/sh)" : "placed by the supervisor";
            long reads = Long.parseLong(words[1]);
            // Boxed at its first read: its code never ran outside (what it reports is the read's own time).
            windows.computeIfAbsent(path + "/ran", k -> new ArrayList<>()).add(reads == 0 ? 0 : Long.parseLong(words[0]) * 1000);
            windows.computeIfAbsent(path + "/reads", k -> new ArrayList<>()).add(reads);
            add(windows, path + "/placed", placed - started);
        }
    }

    /** One JVM placed by the supervisor: was it in every hierarchy of its box when main() ran? */
    private static void jvm(Boxes boxes, String java, Path classes, Map<String, List<Long>> windows) throws Exception {
        try (Box box = boxes.create()) {
            Process process = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", classes.toString(), "BoxedAtMain",
                    box.name(), Integer.toString(box.directories().size())).start();
            box.place(process.pid());
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException("the JVM probe failed: " + output);
            }
            windows.computeIfAbsent("jvm", k -> new ArrayList<>()).add(output.equals("true") ? 1L : 0L);
        }
    }

    private static void add(Map<String, List<Long>> figures, String key, long nanos) {
        figures.computeIfAbsent(key, k -> new ArrayList<>()).add(nanos);
    }

    /** {@code median (p90)} in microseconds. */
    private static String figure(List<Long> nanos) {
        double[] micros = nanos.stream().mapToDouble(n -> n / 1000.0).toArray();
        java.util.Arrays.sort(micros);
        return String.format("%.0f (%.0f)", nearestRank(micros, 50), nearestRank(micros, 90));
    }

    private static double nearestRank(double[] sorted, double p) {
        return sorted[Math.max(0, (int) Math.ceil(p / 100 * sorted.length) - 1)];
    }
}
