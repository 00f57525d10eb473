package forkserver.bench.startup;

import forkserver.bench.NativeEcho;
import forkserver.bench.Session;
import forkserver.bench.Stats;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What {@code --spares} buys (issue 7), side by side in one run, as a Markdown report:
 *
 * <ol>
 *   <li>first echo (connect → first echoed line) with N spares ready (the supervisor's status
 *       line says N/N before each connection), with the refill delay the supervisor ships;</li>
 *   <li>the same with the replacement started at once (refill delay 0), to show the choice;</li>
 *   <li>on demand: the default worker spawned per connection;</li>
 *   <li>fork+exec baselines with the same client and the same pace, both running the bench's
 *       native echo program ({@link NativeEcho}: {@code echo.c}): {@code bin/supervisor --stdio
 *       inout -- bench-echo}, and {@code tcpserver 127.0.0.1 PORT bench-echo} when ucspi-tcp is
 *       installed, the issue's baseline;</li>
 *   <li>bursts of N simultaneous connections with N spares ready, against (1)'s median;</li>
 *   <li>back to back: connections one after the other without waiting for refills (a load above
 *       the refill rate), spares against on demand;</li>
 *   <li>PSS and RSS of an idle spare.</li>
 * </ol>
 *
 * The sequential series are interleaved (1 2 3 4 ...), so drift of a shared machine hits them
 * alike, and every connection of every series (and every burst) waits until every spare pool is
 * full, so that none is measured while a spare JVM starts elsewhere. Usage: {@code SparesBench HOME [CONNECTIONS [SPARES]]}. With
 * {@code -Dforkserver.bench.installed=DIR} ({@code bin/bench-spares --installed DIR}) the installed
 * Debian package's tree is measured too: spares ready and on demand, in the same interleaving,
 * and its idle spare's memory.
 */
public final class SparesBench {

    private static final Pattern STATUS_SPARES = Pattern.compile("status .*spares=(\\d+)/(\\d+)");

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        int connections = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        int spares = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        Path installed = WorkerStartupBench.installedTree();
        String tcpserver = List.of("/usr/bin/tcpserver", "/usr/local/bin/tcpserver").stream()
                .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
        NativeEcho.Program echo = NativeEcho.prepare(home); // the fork+exec baselines' child
        String echoName = Path.of(echo.command().getLast()).getFileName().toString();

        try (Server ready = Server.supervisor(home, "", "--spares", "" + spares);
             Server eager = Server.supervisor(home, "-Dforkserver.spares.refill-delay-ms=0", "--spares", "" + spares);
             Server onDemand = Server.supervisor(home, "");
             Server forkExec = Server.supervisor(home, "", Stream.concat(Stream.of("--stdio", "inout", "--"),
                     echo.command().stream()).toArray(String[]::new));
             Server ucspi = tcpserver == null ? null : Server.tcpserver(tcpserver, echo.command());
             Server packagedReady = installed == null ? null : Server.supervisor(installed, "", "--spares", "" + spares);
             Server packagedOnDemand = installed == null ? null : Server.supervisor(installed, "")) {
            // Every series' connection finds every pool full: a connection measured while another
            // server's spare is being started (a JVM taking a core) would be slower for that alone.
            List<Server> pools = installed == null ? List.of(ready, eager) : List.of(ready, eager, packagedReady);
            List<Server> series = ucspi == null ? List.of(ready, eager, onDemand, forkExec)
                    : List.of(ready, eager, onDemand, forkExec, ucspi);
            for (int i = 0; i < 5; i++) { // warm-up: page cache, the supervisors' JIT
                for (Server server : series) {
                    settle(pools, spares);
                    Session.firstEchoThenClose(server.address, "spares");
                }
            }
            double[][] millis = new double[series.size()][connections];
            for (int i = 0; i < connections; i++) {
                for (int k = 0; k < series.size(); k++) {
                    settle(pools, spares);
                    millis[k][i] = Session.firstEchoThenClose(series.get(k).address, "spares");
                }
                if (i % 10 == 9) {
                    System.err.printf("\r%d/%d connections", i + 1, connections);
                }
            }
            double[] readyMs = millis[0];
            double[] eagerMs = millis[1];
            double[] onDemandMs = millis[2];
            double[] forkExecMs = millis[3];
            double[] ucspiMs = ucspi == null ? new double[connections] : millis[4];
            System.err.println();

            // The same bursts against tcpserver, round by round: what N clients at once cost on
            // this machine's cores whatever serves them, the yardstick for the spares' figure.
            int rounds = 20;
            double[] burstMs = new double[rounds * spares];
            double[] burstMax = new double[rounds];
            double[] ucspiBurstMax = new double[rounds];
            for (int round = 0; round < rounds; round++) {
                settle(pools, spares);
                double[] burst = burst(ready.address, spares);
                System.arraycopy(burst, 0, burstMs, round * spares, spares);
                burstMax[round] = max(burst);
                if (ucspi != null) {
                    settle(pools, spares);
                    ucspiBurstMax[round] = max(burst(ucspi.address, spares));
                }
            }

            int backToBack = Math.max(20, spares * 5);
            ready.awaitSpares(spares);
            double[] sparesBackToBack = new double[backToBack];
            for (int i = 0; i < backToBack; i++) {
                sparesBackToBack[i] = Session.firstEchoThenClose(ready.address, "spares");
            }
            double[] onDemandBackToBack = new double[backToBack];
            for (int i = 0; i < backToBack; i++) {
                onDemandBackToBack[i] = Session.firstEchoThenClose(onDemand.address, "spares");
            }

            ready.awaitSpares(spares);
            long[] idle = ready.idleSpareMemoryKib();

            report(connections, spares, tcpserver != null, readyMs, eagerMs, onDemandMs, echoName, forkExecMs, ucspiMs,
                    burstMs, burstMax, ucspiBurstMax, sparesBackToBack, onDemandBackToBack, idle, ready.supervisorPssKib());
            if (installed != null) {
                // Pairs, not a place in the round above: a series measured later in a round runs
                // while the earlier servers' spares are refilled (that alone made the same worker
                // 1.3 x slower). Each pair is checkout and installed back to back, in alternating
                // order, with every spare pool full before each connection.
                double[][] readyPair = pairs(ready, packagedReady, connections, pools, spares);
                double[][] onDemandPair = pairs(onDemand, packagedOnDemand, connections, pools, spares);
                ready.awaitSpares(spares);
                packagedReady.awaitSpares(spares);
                reportInstalled(installed, spares, readyPair, onDemandPair, ready.idleSpareMemoryKib(),
                        packagedReady.idleSpareMemoryKib());
            }
        }
    }

    /** Returns once every pool of {@code pools} has all its spares ready. */
    static void settle(List<Server> pools, int spares) throws Exception {
        for (Server pool : pools) {
            pool.awaitSpares(spares);
        }
    }

    /**
     * {@code n} first echoes of {@code a} and of {@code b}, one of each back to back, the first
     * of the two alternating, every pool of {@code pools} full before each connection.
     */
    static double[][] pairs(Server a, Server b, int n, List<Server> pools, int spares) throws Exception {
        double[][] millis = new double[2][n];
        for (int i = -2; i < n; i++) { // two pairs of warm-up
            for (int k = 0; k < 2; k++) {
                int which = (i + k) % 2 == 0 ? 0 : 1;
                settle(pools, spares);
                double ms = Session.firstEchoThenClose((which == 0 ? a : b).address, "spares");
                if (i >= 0) {
                    millis[which][i] = ms;
                }
            }
        }
        return millis;
    }

    /** The installed package beside the checkout, in pairs: spares ready, on demand, an idle spare's memory. */
    static void reportInstalled(Path installed, int spares, double[][] readyPair, double[][] onDemandPair, long[] idle,
                                long[] packagedIdle) {
        double[] ready = readyPair[0];
        double[] packagedReady = readyPair[1];
        double[] onDemand = onDemandPair[0];
        double[] packagedOnDemand = onDemandPair[1];
        StringBuilder out = new StringBuilder();
        out.append("\n### The installed package (").append(installed).append(") beside the checkout\n\n");
        out.append(ready.length).append(" pairs of connections per row pair, checkout and installed back to back in"
                + " alternating order, every spare pool full before each.\n\n");
        out.append("| first echo | p50 ms | p99 ms |\n| --- | ---: | ---: |\n");
        WorkerStartupBench.row(out, "1. checkout, `--spares " + spares + "`, spares ready", ready);
        WorkerStartupBench.row(out, "1p. installed, `--spares " + spares + "`, spares ready", packagedReady);
        WorkerStartupBench.row(out, "3. checkout, on demand", onDemand);
        WorkerStartupBench.row(out, "3p. installed, on demand", packagedOnDemand);
        out.append(String.format(Locale.ROOT, "%nRatios of medians: (1p)/(1) = **%.2f**, (3p)/(3) = **%.2f** (target ≤ 1).%n%n",
                Stats.percentile(packagedReady, 50) / Stats.percentile(ready, 50),
                Stats.percentile(packagedOnDemand, 50) / Stats.percentile(onDemand, 50)));
        out.append(String.format(Locale.ROOT, "Idle spare: PSS %.1f MiB checkout, %.1f MiB installed; RSS %.1f / %.1f MiB;"
                        + " private (USS) %.1f / %.1f MiB (PSS shares libjvm.so among the JVMs that map it: Temurin's is"
                        + " mapped by every other JVM here, the package's by its own processes only).%n",
                idle[0] / 1024.0 / idle[2], packagedIdle[0] / 1024.0 / packagedIdle[2], idle[1] / 1024.0 / idle[2],
                packagedIdle[1] / 1024.0 / packagedIdle[2], idle[3] / 1024.0 / idle[2], packagedIdle[3] / 1024.0 / packagedIdle[2]));
        System.out.print(out);
    }

    /** {@code count} clients connect at the same moment; each one's first-echo milliseconds. */
    static double[] burst(InetSocketAddress server, int count) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(count);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Double>> results = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                results.add(clients.submit(() -> {
                    go.await();
                    return Session.firstEchoThenClose(server, "spares");
                }));
            }
            go.countDown();
            double[] millis = new double[count];
            for (int i = 0; i < count; i++) {
                millis[i] = results.get(i).get(60, TimeUnit.SECONDS);
            }
            return millis;
        } finally {
            clients.shutdownNow();
        }
    }

    static void report(int n, int spares, boolean haveTcpserver, double[] ready, double[] eager, double[] onDemand,
                       String echoName, double[] forkExec, double[] ucspi, double[] burst, double[] burstMax,
                       double[] ucspiBurstMax, double[] sparesB2b, double[] onDemandB2b, long[] idle, long supervisorPss)
            throws IOException {
        double readyP50 = Stats.percentile(ready, 50);
        double baseline = Stats.percentile(haveTcpserver ? ucspi : forkExec, 50);
        StringBuilder out = new StringBuilder();
        out.append("## Spare workers: measured ").append(LocalDate.now()).append("\n\n");
        out.append("Machine: ").append(WorkerStartupBench.machine()).append("  \n");
        out.append("Command: `bin/bench-spares ").append(n).append(' ').append(spares).append("` (").append(n)
                .append(" sequential connections per series, interleaved, after 5 of warm-up; client: connect, send a line,")
                .append(" read it back)\n\n");
        out.append("| series | p50 ms | p99 ms |\n| --- | ---: | ---: |\n");
        WorkerStartupBench.row(out, "1. `--spares " + spares + "`, spares ready (refill after 150 ms without a connection)", ready);
        WorkerStartupBench.row(out, "2. `--spares " + spares + "`, spares ready, refill at once (delay 0)", eager);
        WorkerStartupBench.row(out, "3. on demand (default worker, AOT cache)", onDemand);
        WorkerStartupBench.row(out, "4. fork+exec: `bin/supervisor --stdio inout -- " + echoName + "`", forkExec);
        if (haveTcpserver) {
            WorkerStartupBench.row(out, "5. fork+exec: `tcpserver 127.0.0.1 PORT " + echoName + "` (ucspi-tcp)", ucspi);
        }
        out.append(String.format(Locale.ROOT, "%nRatios of medians: (1)/(%s) = **%.2f** (target ≤ 1.5); (3)/(1) = **%.1f**.%n%n",
                haveTcpserver ? "5" : "4", readyP50 / baseline, Stats.percentile(onDemand, 50) / readyP50));
        out.append(String.format(Locale.ROOT,
                "Bursts of %d simultaneous connections with %d spares ready (%d rounds): first echo p50 %.1f ms;"
                        + " the slowest of a burst: median %.1f ms = **%.2f ×** (1)'s p50 (target ≤ 3), worst %.1f ms.%n",
                spares, spares, burstMax.length, Stats.percentile(burst, 50),
                Stats.percentile(burstMax, 50), Stats.percentile(burstMax, 50) / readyP50, max(burstMax)));
        if (haveTcpserver) {
            out.append(String.format(Locale.ROOT,
                    "The same bursts against (5), in the same rounds: the slowest of a burst median %.1f ms = %.2f × (5)'s p50,"
                            + " worst %.1f ms.%n",
                    Stats.percentile(ucspiBurstMax, 50), Stats.percentile(ucspiBurstMax, 50) / baseline, max(ucspiBurstMax)));
        }
        out.append('\n');
        out.append(String.format(Locale.ROOT,
                "Back to back (%d connections, no pause: above the refill rate): p50 %.1f ms with spares, %.1f ms on demand.%n%n",
                sparesB2b.length, Stats.percentile(sparesB2b, 50), Stats.percentile(onDemandB2b, 50)));
        out.append(String.format(Locale.ROOT,
                "Idle spare: PSS %.1f MiB, RSS %.1f MiB (mean of %d); supervisor PSS %.1f MiB.%n",
                idle[0] / 1024.0 / idle[2], idle[1] / 1024.0 / idle[2], idle[2], supervisorPss / 1024.0));
        System.out.print(out);
    }

    static double max(double[] values) {
        double max = 0;
        for (double value : values) {
            max = Math.max(max, value);
        }
        return max;
    }

    /** A server process on a loopback port, its log kept; closing it stops it and its children. */
    static final class Server implements AutoCloseable {
        final Process process;
        final InetSocketAddress address;
        final List<String> log = new CopyOnWriteArrayList<>();

        private Server(Process process, InetSocketAddress address) {
            this.process = process;
            this.address = address;
        }

        /** bin/supervisor on a free port; {@code javaOptions} for the supervisor's own JVM. */
        static Server supervisor(Path home, String javaOptions, String... options) throws IOException {
            return supervisor(home, java.util.Map.of(), javaOptions, options);
        }

        /** The same with {@code environment} added to the supervisor's (and so to its workers'). */
        static Server supervisor(Path home, java.util.Map<String, String> environment, String javaOptions, String... options)
                throws IOException {
            List<String> argv = new ArrayList<>(List.of(home.resolve("bin/supervisor").toString(), "-l", "127.0.0.1:0",
                    "--shutdown-grace", "0s", "--kill-grace", "2s"));
            argv.addAll(List.of(options));
            ProcessBuilder builder = new ProcessBuilder(argv).redirectInput(new File("/dev/null"))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            builder.environment().put("FORKSERVER_JAVA_OPTS", javaOptions);
            builder.environment().putAll(environment);
            Process process = builder.start();
            BufferedReader log = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8));
            for (String line; (line = log.readLine()) != null; ) {
                Matcher m = WorkerStartupBench.LISTENING.matcher(line);
                if (m.find()) {
                    Server server = new Server(process, new InetSocketAddress(InetAddress.getByName(m.group(1)),
                            Integer.parseInt(m.group(2))));
                    server.keepReading(log);
                    return server;
                }
            }
            throw new IllegalStateException("bin/supervisor exited without listening");
        }

        /** ucspi-tcp's tcpserver running {@code program}, on a port that was free a moment ago. */
        static Server tcpserver(String tcpserver, List<String> program) throws IOException, InterruptedException {
            int port = freeLoopbackPort();
            Process process = new ProcessBuilder(Stream.concat(Stream.of(tcpserver, "-R", "-H", "-l", "localhost", "127.0.0.1", "" + port),
                    program.stream()).toList())
                    .redirectInput(new File("/dev/null")).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            return new Server(process, awaitListening(process, port, "tcpserver"));
        }

        /** A loopback port that was free a moment ago, for a server that cannot be given port 0. */
        static int freeLoopbackPort() throws IOException {
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return probe.getLocalPort();
            }
        }

        /**
         * Returns {@code port}'s loopback address once {@code process} accepts a connection there,
         * within 10 s; else kills it and says so.
         */
        static InetSocketAddress awaitListening(Process process, int port, String name) throws InterruptedException {
            InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline && process.isAlive()) {
                try (Socket probe = new Socket()) {
                    probe.connect(address, 1_000);
                    return address;
                } catch (IOException notYet) {
                    Thread.sleep(50); // bench only: tcpserver and stunnel say nothing when they are listening
                }
            }
            process.destroyForcibly();
            throw new IllegalStateException(name + " did not listen on " + address);
        }

        private void keepReading(BufferedReader reader) {
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    for (String line; (line = reader.readLine()) != null; ) {
                        log.add(line);
                    }
                } catch (IOException ignored) {
                    // the supervisor is gone
                }
            });
        }

        /** Asks for status lines (SIGUSR1) until one says {@code spares=N/N}. */
        void awaitSpares(int spares) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                int seen = log.size();
                new ProcessBuilder("kill", "-USR1", Long.toString(process.pid())).start().waitFor();
                for (int wait = 0; wait < 200 && statusAfter(seen) == null; wait++) {
                    Thread.sleep(5);
                }
                Matcher status = statusAfter(seen);
                if (status != null && Integer.parseInt(status.group(1)) == spares) {
                    return;
                }
                Thread.sleep(20);
            }
            throw new IllegalStateException("spares not ready in 120 s: " + log);
        }

        private Matcher statusAfter(int index) {
            for (int i = index; i < log.size(); i++) {
                Matcher m = STATUS_SPARES.matcher(log.get(i));
                if (m.find()) {
                    return m;
                }
            }
            return null;
        }

        /** {total PSS KiB, total RSS KiB, count, total USS KiB} of the idle spares (children holding no connection). */
        long[] idleSpareMemoryKib() throws IOException {
            long pss = 0;
            long rss = 0;
            long uss = 0;
            long count = 0;
            for (ProcessHandle child : process.children().toList()) {
                pss += WorkerStartupBench.smaps(child.pid(), "Pss");
                rss += WorkerStartupBench.smaps(child.pid(), "Rss");
                uss += WorkerStartupBench.smaps(child.pid(), "Private_Clean") + WorkerStartupBench.smaps(child.pid(), "Private_Dirty");
                count++;
            }
            return new long[] {pss, rss, Math.max(count, 1), uss};
        }

        long supervisorPssKib() throws IOException {
            return WorkerStartupBench.smaps(process.pid(), "Pss");
        }

        @Override
        public void close() {
            WorkerStartupBench.stopTree(process);
        }
    }

    private SparesBench() {
    }

    static {
        Locale.setDefault(Locale.ROOT);
    }
}
