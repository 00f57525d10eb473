package forkserver.bench.startup;

import forkserver.bench.ProcessTree;
import forkserver.bench.Session;
import forkserver.bench.Stats;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one connection costs the worker, measured side by side in one run (issue 5):
 *
 * <ol>
 *   <li>first echo (connect → first echoed line) through bin/supervisor with the default worker
 *       (worker/jvm.options + the AOT cache);</li>
 *   <li>the same, the same worker jar run with plain {@code java -cp} and no options;</li>
 *   <li>the floor: an empty {@code main} in a jar, run as a whole process with the worker's
 *       options (and an AOT cache of its own, so the floor gets every advantage the worker has);</li>
 *   <li>PSS of the supervisor's whole process tree with 20 and 100 connections held open.</li>
 * </ol>
 *
 * The three latency series are interleaved (A B C A B C ...), so drift of a shared machine hits
 * them alike. Usage: {@code WorkerStartupBench HOME [CONNECTIONS [HELD HELD]]} (defaults 100, 20
 * and 100); prints a Markdown report. With {@code -Dforkserver.bench.installed=DIR}
 * ({@code bin/bench-startup --installed DIR}) the installed Debian package's tree (DIR/bin/supervisor,
 * its own runtime and AOT cache) is measured too: a fourth series in the same interleaving, and
 * its memory at the same numbers of held connections.
 */
public final class WorkerStartupBench {

    /** The supervisor's start-up line: where it listens (IPv4 here). */
    static final Pattern LISTENING = Pattern.compile("listening on ([0-9.]+):(\\d+)");

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        int connections = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        int fewHeld = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int manyHeld = args.length > 3 ? Integer.parseInt(args[3]) : 100;
        Path work = Files.createDirectories(home.resolve("bench/target/startup"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> workerCommand = workerCommand(home);
        List<String> options = workerCommand.subList(1, workerCommand.indexOf("-cp"));
        List<String> floor = emptyMain(work, java, options);

        List<String> plain = List.of(java, "-cp", home.resolve("worker/target/forkserver-worker.jar").toString(),
                "forkserver.worker.Launcher");
        Path installed = installedTree();
        try (Supervisor tuned = Supervisor.start(home, List.of());
             Supervisor untuned = Supervisor.start(home, plain);
             Supervisor packaged = installed == null ? null : Supervisor.start(installed, List.of())) {
            // Warm-up: the page cache, the supervisors' own JIT, the AOT cache's pages.
            for (int i = 0; i < 10; i++) {
                Session.run(tuned.address, "startup");
                Session.run(untuned.address, "startup");
                runOnce(floor);
                if (packaged != null) {
                    Session.run(packaged.address, "startup");
                }
            }
            double[] tunedMs = new double[connections];
            double[] plainMs = new double[connections];
            double[] floorMs = new double[connections];
            double[] packagedMs = new double[connections];
            for (int i = 0; i < connections; i++) {
                // The installed tree right beside the checkout, which of the two first alternating.
                if (packaged != null && i % 2 == 1) {
                    packagedMs[i] = Session.run(packaged.address, "startup") / 1e6;
                }
                tunedMs[i] = Session.run(tuned.address, "startup") / 1e6;
                if (packaged != null && i % 2 == 0) {
                    packagedMs[i] = Session.run(packaged.address, "startup") / 1e6;
                }
                plainMs[i] = Session.run(untuned.address, "startup") / 1e6;
                floorMs[i] = runOnce(floor);
                if (i % 10 == 9) {
                    System.err.printf("\r%d/%d connections", i + 1, connections);
                }
            }
            System.err.println();
            Memory at20 = heldMemory(home, fewHeld);
            Memory at100 = heldMemory(home, manyHeld);
            report(home, connections, workerCommand, floor, plain, tunedMs, plainMs, floorMs, at20, at100);
            if (installed != null) {
                reportInstalled(installed, tunedMs, packagedMs, at20, at100,
                        heldMemory(installed, fewHeld), heldMemory(installed, manyHeld));
            }
        }
    }

    /** The installed tree to measure beside the checkout ({@code -Dforkserver.bench.installed}), or null. */
    static Path installedTree() {
        String dir = System.getProperty("forkserver.bench.installed", "");
        if (dir.isEmpty()) {
            return null;
        }
        Path tree = Path.of(dir).toAbsolutePath().normalize();
        if (!Files.isExecutable(tree.resolve("bin/supervisor")) || !Files.isRegularFile(tree.resolve("bin/lib/installed.sh"))) {
            throw new IllegalArgumentException(tree + " is not an installed forkserver (no bin/supervisor and bin/lib/installed.sh)");
        }
        return tree;
    }

    /** The installed package beside the checkout: first echo (same interleaving) and memory. */
    static void reportInstalled(Path installed, double[] checkout, double[] packaged, Memory checkout20, Memory checkout100,
                                Memory packaged20, Memory packaged100) {
        StringBuilder out = new StringBuilder();
        out.append("\n### The installed package (").append(installed).append(") beside the checkout\n\n");
        out.append("| first echo | p50 ms | p99 ms |\n| --- | ---: | ---: |\n");
        row(out, "1. checkout: bin/supervisor + default worker", checkout);
        row(out, "1p. installed: " + installed + "/bin/supervisor + default worker", packaged);
        out.append(String.format(Locale.ROOT, "%nRatio of medians (1p)/(1) = **%.2f** (target ≤ 1: not slower in the package).%n%n",
                Stats.percentile(packaged, 50) / Stats.percentile(checkout, 50)));
        out.append("| held connections | checkout PSS per connection | installed PSS per connection | checkout / installed RSS per child |\n");
        out.append("| ---: | ---: | ---: | ---: |\n");
        for (Memory[] pair : List.of(new Memory[] {checkout20, packaged20}, new Memory[] {checkout100, packaged100})) {
            out.append(String.format(Locale.ROOT, "| %d | %.1f MiB | %.1f MiB | %.1f / %.1f MiB |%n", pair[0].held(),
                    pair[0].perConnectionMib(), pair[1].perConnectionMib(), pair[0].rssPerConnectionMib(),
                    pair[1].rssPerConnectionMib()));
        }
        System.out.print(out);
    }

    /** The default worker's command line, as bin/worker builds it. */
    static List<String> workerCommand(Path home) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(home.resolve("bin/worker").toString(), "--print-command")
                .redirectInput(new File("/dev/null")).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return Arrays.asList(text.split("\0"));
    }

    /** An empty main in a jar, with {@code options} and an AOT cache trained on itself. */
    static List<String> emptyMain(Path work, String java, List<String> options) throws Exception {
        Path source = work.resolve("Empty.java");
        Files.writeString(source, "public class Empty { public static void main(String[] a) { } }\n");
        Path jdkBin = Path.of(System.getProperty("java.home"), "bin");
        run(List.of(jdkBin.resolve("javac").toString(), "-d", work.toString(), source.toString()));
        Path jar = work.resolve("empty.jar");
        run(List.of(jdkBin.resolve("jar").toString(), "cf", jar.toString(), "-C", work.toString(), "Empty.class"));
        List<String> base = new ArrayList<>();
        base.add(java);
        for (String option : options) {
            if (!option.startsWith("-XX:AOTCache=")) {
                base.add(option);
            }
        }
        Path cache = work.resolve("empty.aot");
        Files.deleteIfExists(cache);
        List<String> training = new ArrayList<>(base);
        training.addAll(List.of("-XX:AOTCacheOutput=" + cache, "-Xlog:all=off", "-cp", jar.toString(), "Empty"));
        run(training);
        List<String> command = new ArrayList<>(base);
        command.addAll(List.of("-XX:AOTCache=" + cache, "-cp", jar.toString(), "Empty"));
        return command;
    }

    /** Wall milliseconds of one whole process run. */
    static double runOnce(List<String> command) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("failed: " + command);
        }
        return (System.nanoTime() - start) / 1e6;
    }

    record Memory(int held, long supervisorKib, long treeKib, long rssTreeKib) {
        double perConnectionMib() {
            return (treeKib - supervisorKib) / 1024.0 / held;
        }

        double rssPerConnectionMib() {
            return rssTreeKib / 1024.0 / held;
        }
    }

    /** PSS of the supervisor's tree with {@code held} echo sessions open (each checked). */
    static Memory heldMemory(Path home, int held) throws Exception {
        try (Supervisor supervisor = Supervisor.start(home, List.of(), "-c", Integer.toString(held + 10))) {
            List<Socket> sockets = new ArrayList<>();
            try {
                for (int i = 0; i < held; i++) {
                    Socket socket = new Socket();
                    socket.setSoTimeout(60_000);
                    socket.connect(supervisor.address, 10_000);
                    socket.getOutputStream().write(("held " + i + "\n").getBytes(StandardCharsets.UTF_8));
                    BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                    if (!("held " + i).equals(in.readLine())) {
                        throw new IllegalStateException("held session " + i + " did not echo");
                    }
                    sockets.add(socket);
                }
                List<ProcessHandle> children = supervisor.process.descendants().toList();
                if (children.size() != held) {
                    throw new IllegalStateException(children.size() + " children for " + held + " connections");
                }
                long supervisorPss = smaps(supervisor.process.pid(), "Pss");
                long tree = supervisorPss;
                long rss = 0;
                for (ProcessHandle child : children) {
                    tree += smaps(child.pid(), "Pss");
                    rss += smaps(child.pid(), "Rss");
                }
                return new Memory(held, supervisorPss, tree, rss);
            } finally {
                for (Socket socket : sockets) {
                    socket.close();
                }
            }
        }
    }

    /** One field of a live process's smaps_rollup in KiB ({@code Pss}, {@code Rss}, ...). */
    static long smaps(long pid, String field) {
        Long kib = ProcessTree.smapsRollup(pid).get(field);
        if (kib == null) {
            throw new IllegalStateException("no " + field + " in /proc/" + pid + "/smaps_rollup (did it exit?)");
        }
        return kib;
    }

    static void report(Path home, int n, List<String> worker, List<String> floor, List<String> plain,
                       double[] tuned, double[] untuned, double[] floorMs, Memory at20, Memory at100) throws Exception {
        double tunedP50 = Stats.percentile(tuned, 50);
        double floorP50 = Stats.percentile(floorMs, 50);
        double plainP50 = Stats.percentile(untuned, 50);
        StringBuilder out = new StringBuilder();
        out.append("## Worker start-up: measured ").append(LocalDate.now()).append("\n\n");
        out.append("Machine: ").append(machine()).append("  \n");
        out.append("Command: `bin/bench-startup ").append(n).append(" ").append(at20.held()).append(" ")
                .append(at100.held()).append("` (").append(n)
                .append(" sequential connections per series, interleaved, after 10 of warm-up)\n\n");
        out.append("| series | p50 ms | p99 ms |\n| --- | ---: | ---: |\n");
        row(out, "1. first echo, bin/supervisor + default worker", tuned);
        row(out, "2. first echo, same jar, plain `java -cp`", untuned);
        row(out, "3. floor: empty main, whole process, same options", floorMs);
        out.append(String.format(Locale.ROOT, "%nRatios of medians: (1)/(3) = **%.2f** (target ≤ 1.25); (2)/(1) = **%.2f** (target ≥ 2).%n%n",
                tunedP50 / floorP50, plainP50 / tunedP50));
        out.append("| held connections | PSS per connection (tree − supervisor) / N | RSS per child | supervisor PSS |\n");
        out.append("| ---: | ---: | ---: | ---: |\n");
        for (Memory m : List.of(at20, at100)) {
            out.append(String.format(Locale.ROOT, "| %d | %.1f MiB | %.1f MiB | %.1f MiB |%n", m.held(),
                    m.perConnectionMib(), m.rssPerConnectionMib(), m.supervisorKib() / 1024.0));
        }
        out.append("\nWorker command: `").append(String.join(" ", worker).replace(home.toString(), "$HOME")).append("`  \n");
        out.append("Floor command: `").append(String.join(" ", floor).replace(home.toString(), "$HOME")).append("`  \n");
        out.append("Plain command: `").append(String.join(" ", plain).replace(home.toString(), "$HOME")).append("`\n");
        System.out.print(out);
    }

    static void row(StringBuilder out, String name, double[] millis) {
        out.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f |%n", name, Stats.percentile(millis, 50), Stats.percentile(millis, 99)));
    }

    static String machine() throws IOException {
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
        long memKib = Long.parseLong(Files.readAllLines(Path.of("/proc/meminfo")).getFirst().split("\\s+")[1]);
        return String.format(Locale.ROOT, "%d cores (%s), %.0f GiB, %s %s, Java %s", Runtime.getRuntime().availableProcessors(),
                cpu, memKib / 1024.0 / 1024.0, System.getProperty("os.name"), System.getProperty("os.version"),
                System.getProperty("java.runtime.version"));
    }

    static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(command + " failed: " + new String(output, StandardCharsets.UTF_8));
        }
    }

    /** bin/supervisor on a free loopback port; closing it stops it (SIGTERM, then SIGKILL) with its children. */
    static final class Supervisor implements AutoCloseable {
        final Process process;
        final InetSocketAddress address;

        private Supervisor(Process process, InetSocketAddress address) {
            this.process = process;
            this.address = address;
        }

        static Supervisor start(Path home, List<String> command, String... options) throws IOException {
            List<String> argv = new ArrayList<>(List.of(home.resolve("bin/supervisor").toString(), "-l", "127.0.0.1:0",
                    "--shutdown-grace", "0s", "--kill-grace", "2s"));
            argv.addAll(List.of(options));
            if (!command.isEmpty()) {
                argv.add("--");
                argv.addAll(command);
            }
            Process process = new ProcessBuilder(argv).redirectInput(new File("/dev/null"))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            BufferedReader log = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8));
            for (String line; (line = log.readLine()) != null; ) {
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    drain(process.getErrorStream());
                    return new Supervisor(process, new InetSocketAddress(InetAddress.getByName(m.group(1)), Integer.parseInt(m.group(2))));
                }
            }
            throw new IllegalStateException("bin/supervisor exited without listening");
        }

        /** Reads the log on so that the supervisor never blocks on a full pipe. */
        private static void drain(InputStream stream) {
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    stream.transferTo(OutputStream.nullOutputStream());
                } catch (IOException ignored) {
                    // the supervisor is gone
                }
            });
        }

        @Override
        public void close() {
            WorkerStartupBench.stopTree(process);
        }
    }

    /**
     * Stops a server the way an operator would (SIGTERM, so a supervisor drains), SIGKILL after
     * 20 s, then kills whatever it had started: its children are orphans by then.
     */
    static void stopTree(Process process) {
        List<ProcessHandle> family = new ArrayList<>(process.descendants().toList());
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        family.forEach(ProcessHandle::destroyForcibly);
    }

    private WorkerStartupBench() {
    }

    static {
        Locale.setDefault(Locale.ROOT);
    }

}
