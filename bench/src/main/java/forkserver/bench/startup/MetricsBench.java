package forkserver.bench.startup;

import forkserver.bench.Session;
import forkserver.bench.Stats;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code --metrics} costs the accept path (issue 12): two supervisors side by side, the same
 * but for {@code --metrics} (scraped once a second, as Prometheus would), each running
 * {@code cat} per connection ({@code --stdio inout}), so that the supervisor's own work is a
 * large part of each session. Sessions alternate between the two, in blocks; reported: first
 * echo (connect, a line, its echo) p50 and p90, and the supervisor JVM's own CPU per session
 * (its threads' runtime from /proc/PID/task/TID/schedstat, children excluded), the median over the blocks; the
 * load average before and after, since the machine may be shared.
 * Usage: {@code MetricsBench HOME [BLOCKS [SESSIONS_PER_BLOCK]]}.
 */
public final class MetricsBench {

    private static final Pattern METRICS_ON = Pattern.compile("metrics on ([0-9.]+):(\\d+)");

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        int blocks = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int perBlock = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        String loadBefore = ProxyBench.loadAverage();
        try (SparesBench.Server plain = SparesBench.Server.supervisor(home, "", "--stdio", "inout", "--", "cat");
             SparesBench.Server metered = SparesBench.Server.supervisor(home, "", "--metrics", "127.0.0.1:0",
                     "--stdio", "inout", "--", "cat")) {
            String metrics = metricsUrl(metered);
            AtomicInteger scrapes = new AtomicInteger();
            Thread scraper = Thread.ofPlatform().daemon().unstarted(() -> scrapeEverySecond(metrics, scrapes));
            scraper.start();
            for (int i = 0; i < 20; i++) { // warm-up: page cache, the supervisors' JIT
                Session.firstEchoThenClose(plain.address, "metrics");
                Session.firstEchoThenClose(metered.address, "metrics");
            }
            double[] plainMs = new double[blocks * perBlock];
            double[] meteredMs = new double[blocks * perBlock];
            double[] plainCpu = new double[blocks];
            double[] meteredCpu = new double[blocks];
            for (int block = 0; block < blocks; block++) {
                long plainNanos = 0;
                long meteredNanos = 0;
                // Half a block on each, in turns, the order swapped each block, so drift hits both alike.
                for (int half = 0; half < 2; half++) {
                    int from = block * perBlock + half * (perBlock / 2);
                    boolean plainFirst = (block + half) % 2 == 0;
                    for (boolean plainNow : new boolean[] {plainFirst, !plainFirst}) {
                        long nanos = sessions(plainNow ? plain : metered, plainNow ? plainMs : meteredMs, from, perBlock / 2);
                        if (plainNow) {
                            plainNanos += nanos;
                        } else {
                            meteredNanos += nanos;
                        }
                    }
                }
                plainCpu[block] = plainNanos / 1e6 / perBlock;
                meteredCpu[block] = meteredNanos / 1e6 / perBlock;
            }
            scraper.interrupt();
            String plainThreads = threads(plain.process.pid());
            String meteredThreads = threads(metered.process.pid());
            String loadAfter = ProxyBench.loadAverage();
            int n = blocks * perBlock;
            System.out.printf(Locale.ROOT, "`bin/bench-metrics %d %d` on %s UTC, %s; load average before: %s, after: %s;"
                            + " %d sessions per series, in %d blocks, interleaved; the metered supervisor was scraped %d times.%n%n",
                    blocks, perBlock, LocalDateTime.now(ZoneOffset.UTC).withNano(0).toString().replace('T', ' '),
                    WorkerStartupBench.machine(), loadBefore, loadAfter, n, blocks, scrapes.get());
            System.out.println("| series | first echo p50 ms | first echo p90 ms | supervisor CPU ms per session (median of blocks) |");
            System.out.println("| --- | ---: | ---: | ---: |");
            row("`--stdio inout -- cat`", plainMs, plainCpu);
            row("the same with `--metrics` (scraped every second)", meteredMs, meteredCpu);
            System.out.printf(Locale.ROOT, "%nRatios (with / without): first echo p50 %.3f, CPU per session %.3f"
                            + " (CPU per block without: %s; with: %s).%n",
                    Stats.percentile(meteredMs, 50) / Stats.percentile(plainMs, 50),
                    median(meteredCpu) / median(plainCpu), Arrays.toString(round(plainCpu)), Arrays.toString(round(meteredCpu)));
            System.out.printf(Locale.ROOT, "%nCPU ms by thread at the end, without: %s; with: %s.%n", plainThreads, meteredThreads);
        }
    }

    /** {@code count} sessions on {@code server}, their first echoes into {@code into} from {@code from}; the supervisor's CPU nanoseconds. */
    private static long sessions(SparesBench.Server server, double[] into, int from, int count) throws IOException {
        long before = ownNanos(server.process.pid());
        for (int i = 0; i < count; i++) {
            into[from + i] = Session.firstEchoThenClose(server.address, "metrics");
        }
        return ownNanos(server.process.pid()) - before;
    }

    private static void row(String name, double[] ms, double[] cpu) {
        System.out.printf(Locale.ROOT, "| %s | %.2f | %.2f | %.3f |%n", name, Stats.percentile(ms, 50),
                Stats.percentile(ms, 90), median(cpu));
    }

    private static double median(double[] values) {
        return Stats.percentile(values, 50);
    }

    private static double[] round(double[] values) {
        return Arrays.stream(values).map(v -> Math.round(v * 1000) / 1000.0).toArray();
    }

    /**
     * The CPU time of the process's threads in nanoseconds: the first field of each
     * /proc/PID/task/TID/schedstat (the scheduler's exact runtime; /proc/PID/stat counts 10 ms
     * ticks, too coarse for a block). The supervisor's threads live as long as it does.
     */
    private static long ownNanos(long pid) throws IOException {
        long nanos = 0;
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    nanos += Long.parseLong(Files.readString(task.resolve("schedstat")).split(" ")[0]);
                } catch (IOException e) {
                    // the thread ended while we looked
                }
            }
        }
        return nanos;
    }

    /** Each thread's CPU milliseconds so far, the busiest first. */
    private static String threads(long pid) throws IOException {
        java.util.Map<String, Long> byName = new java.util.TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    byName.merge(Files.readString(task.resolve("comm")).strip(),
                            Long.parseLong(Files.readString(task.resolve("schedstat")).split(" ")[0]) / 1_000_000, Long::sum);
                } catch (IOException e) {
                    // the thread ended while we looked
                }
            }
        }
        return byName.entrySet().stream().sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(6)
                .map(e -> e.getKey() + " " + e.getValue()).collect(java.util.stream.Collectors.joining(", "));
    }

    private static String metricsUrl(SparesBench.Server server) throws InterruptedException {
        for (int wait = 0; wait < 2000; wait++) {
            for (String line : server.log) {
                Matcher m = METRICS_ON.matcher(line);
                if (m.find()) {
                    return "http://" + m.group(1) + ":" + m.group(2) + "/metrics";
                }
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("no 'metrics on' line: " + server.log);
    }

    private static void scrapeEverySecond(String url, AtomicInteger scrapes) {
        HttpClient client = HttpClient.newHttpClient();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build();
        while (!Thread.currentThread().isInterrupted()) {
            try {
                HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream body = response.body()) {
                    body.transferTo(java.io.OutputStream.nullOutputStream());
                }
                if (response.statusCode() == 200) {
                    scrapes.incrementAndGet();
                }
                Thread.sleep(1000);
            } catch (IOException e) {
                // the supervisor is stopping
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
