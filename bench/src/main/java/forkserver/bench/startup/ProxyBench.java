package forkserver.bench.startup;

import forkserver.bench.Session;
import forkserver.bench.Stats;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * What the PROXY protocol adds to a connection's first echo (issue 11), side by side in one run,
 * as a Markdown report. The child is {@code cat} ({@code --stdio inout}), so a process start is
 * all the child costs and the proxy's share shows:
 *
 * <ol>
 *   <li>direct: the client to {@code bin/supervisor --stdio inout -- cat};</li>
 *   <li>direct, header from the client: to {@code bin/supervisor --proxy-protocol --proxy-from
 *       127.0.0.1 ... cat}, the client writing a PROXY v2 header and its line in one write, as
 *       HAProxy does: the header stage alone;</li>
 *   <li>through HAProxy without a header (TCP mode) to (1)'s supervisor: the relay alone;</li>
 *   <li>through HAProxy with {@code send-proxy-v2} to (2)'s supervisor: what a PROXY v2
 *       connection through HAProxy costs, against (1).</li>
 * </ol>
 *
 * The four series are interleaved connection by connection (1 2 3 4 1 2 3 4 ...), so a shared
 * machine's drift hits them alike; every session is ended (end of input, then the child's close)
 * before the next starts. Usage: {@code ProxyBench HOME [CONNECTIONS]} (default 200).
 */
public final class ProxyBench {

    private static final String HAPROXY = "/usr/sbin/haproxy";
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        int connections = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        if (!Files.isExecutable(Path.of(HAPROXY))) {
            throw new IllegalStateException(HAPROXY + " is not installed: apt-get install haproxy");
        }
        String loadBefore = loadAverage();
        String started = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"));
        Path work = Files.createTempDirectory("forkserver-proxy-bench");
        try (SparesBench.Server plain = SparesBench.Server.supervisor(home, "", "--stdio", "inout", "--", "cat");
             SparesBench.Server proxied = SparesBench.Server.supervisor(home, "", "--proxy-protocol", "--proxy-from",
                     "127.0.0.1", "--stdio", "inout", "--", "cat");
             HaProxy haproxy = HaProxy.start(work, plain.address, proxied.address)) {
            double[][] series = new double[4][connections];
            for (int i = -20; i < connections; i++) { // 20 of warm-up: page cache, the supervisors' JIT
                double direct = Session.firstEchoThenClose(plain.address, "proxy");
                double header = Session.firstEchoThenClose(proxied.address, "proxy", ProxyBench::v2Header);
                double relay = Session.firstEchoThenClose(haproxy.plain, "proxy");
                double both = Session.firstEchoThenClose(haproxy.proxied, "proxy");
                if (i >= 0) {
                    series[0][i] = direct;
                    series[1][i] = header;
                    series[2][i] = relay;
                    series[3][i] = both;
                }
                if (i % 50 == 49) {
                    System.err.printf("\r%d/%d connections", i + 1, connections);
                }
            }
            System.err.println();
            report(connections, started, loadBefore, loadAverage(), series, haproxyVersion());
        } finally {
            try (var files = Files.list(work)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(work);
        }
    }

    static void report(int n, String started, String loadBefore, String loadAfter, double[][] s, String haproxy)
            throws IOException {
        StringBuilder out = new StringBuilder();
        out.append("## The PROXY protocol's cost: measured ").append(started).append("\n\n");
        out.append("Machine: ").append(WorkerStartupBench.machine()).append(", ").append(haproxy).append("  \n");
        out.append("Load average (1, 5, 15 min): ").append(loadBefore).append(" before, ").append(loadAfter)
                .append(" after  \n");
        out.append("Command: `bin/bench-proxy ").append(n).append("` (").append(n)
                .append(" connections per series, interleaved, after 20 of warm-up; client: connect, send a line,")
                .append(" read it back; child: `cat`)\n\n");
        out.append("| series | p50 ms | p90 ms | p99 ms |\n| --- | ---: | ---: | ---: |\n");
        String[] names = {
            "1. direct: `bin/supervisor --stdio inout -- cat`",
            "2. direct, PROXY v2 header written by the client: `--proxy-protocol`",
            "3. through HAProxy, no header (TCP mode) to (1)",
            "4. through HAProxy, `send-proxy-v2`, to (2)",
        };
        for (int i = 0; i < 4; i++) {
            out.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f |%n", names[i], Stats.percentile(s[i], 50),
                    Stats.percentile(s[i], 90), Stats.percentile(s[i], 99)));
        }
        out.append("\nWhat each adds to the first echo, in ms: the difference of the medians, and the median of the")
                .append(" differences connection by connection (the series are interleaved, so each connection of one")
                .append(" has a neighbour in the other):\n\n");
        out.append("| added | medians' difference | median of differences |\n| --- | ---: | ---: |\n");
        delta(out, "the header stage alone: (2) − (1)", s[1], s[0]);
        delta(out, "HAProxy's relay alone: (3) − (1)", s[2], s[0]);
        delta(out, "the header behind HAProxy: (4) − (3)", s[3], s[2]);
        delta(out, "**a PROXY v2 connection through HAProxy: (4) − (1)**", s[3], s[0]);
        System.out.print(out);
    }

    private static void delta(StringBuilder out, String name, double[] with, double[] without) {
        double[] paired = new double[with.length];
        for (int i = 0; i < with.length; i++) {
            paired[i] = with[i] - without[i];
        }
        out.append(String.format(Locale.ROOT, "| %s | %+.2f | %+.2f |%n", name,
                Stats.percentile(with, 50) - Stats.percentile(without, 50),
                Stats.percentile(paired, 50)));
    }

    /** The v2 header HAProxy would write for this connection: TCP over IPv4, the socket's own two ends. */
    static byte[] v2Header(Socket socket) {
        InetAddress source = socket.getLocalAddress();
        InetAddress destination = socket.getInetAddress();
        if (!(source instanceof Inet4Address) || !(destination instanceof Inet4Address)) {
            throw new IllegalStateException("IPv4 loopback expected, got " + source + " to " + destination);
        }
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        header.writeBytes(V2_SIGNATURE);
        header.write(0x21); // version 2, PROXY
        header.write(0x11); // TCP over IPv4
        header.write(0);
        header.write(12);
        header.writeBytes(source.getAddress());
        header.writeBytes(destination.getAddress());
        header.write(socket.getLocalPort() >> 8);
        header.write(socket.getLocalPort());
        header.write(socket.getPort() >> 8);
        header.write(socket.getPort());
        return header.toByteArray();
    }

    static String loadAverage() throws IOException {
        String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
        return fields[0] + ", " + fields[1] + ", " + fields[2];
    }

    static String haproxyVersion() throws IOException, InterruptedException {
        Process version = new ProcessBuilder(HAPROXY, "-v").redirectErrorStream(true).start();
        String first = new String(version.getInputStream().readAllBytes()).lines().findFirst().orElse("HAProxy");
        version.waitFor();
        return first.replaceFirst(" - https?://\\S+", "");
    }

    /**
     * HAProxy in the foreground with two TCP frontends on ports that were free a moment ago: one
     * relaying to {@code plain} without a header, one to {@code proxied} with {@code send-proxy-v2}.
     * No health checks, so that nothing but the bench's connections reaches the supervisors.
     */
    record HaProxy(Process process, InetSocketAddress plain, InetSocketAddress proxied) implements AutoCloseable {

        static HaProxy start(Path work, InetSocketAddress toPlain, InetSocketAddress toProxied) throws Exception {
            for (int attempt = 0; attempt < 5; attempt++) {
                int plainPort = freePort();
                int proxiedPort = freePort();
                String config = String.join("\n",
                        "defaults",
                        "    mode tcp",
                        "    timeout connect 5s",
                        "    timeout client 60s",
                        "    timeout server 60s",
                        "frontend plain",
                        "    bind 127.0.0.1:" + plainPort,
                        "    default_backend plain",
                        "backend plain",
                        "    server s 127.0.0.1:" + toPlain.getPort(),
                        "frontend proxied",
                        "    bind 127.0.0.1:" + proxiedPort,
                        "    default_backend proxied",
                        "backend proxied",
                        "    server s 127.0.0.1:" + toProxied.getPort() + " send-proxy-v2",
                        "");
                Path file = work.resolve("haproxy.cfg");
                Files.writeString(file, config);
                Process process = new ProcessBuilder(HAPROXY, "-db", "-f", file.toString())
                        .redirectInput(new File("/dev/null")).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(work.resolve("haproxy.log").toFile()).start();
                HaProxy haproxy = new HaProxy(process, loopback(plainPort), loopback(proxiedPort));
                if (haproxy.awaitListening()) {
                    return haproxy;
                }
                haproxy.close(); // a port was taken meanwhile: again, on others
            }
            throw new IllegalStateException("HAProxy did not start; see " + work.resolve("haproxy.log"));
        }

        private boolean awaitListening() throws InterruptedException {
            for (int attempt = 0; attempt < 200 && process.isAlive(); attempt++) {
                try (Socket a = new Socket(); Socket b = new Socket()) {
                    a.connect(plain, 1_000);
                    b.connect(proxied, 1_000);
                    return true;
                } catch (IOException notYet) {
                    Thread.sleep(25); // bench only: HAProxy says nothing when it is listening
                }
            }
            return false;
        }

        @Override
        public void close() {
            WorkerStartupBench.stopTree(process);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    private static InetSocketAddress loopback(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    private ProxyBench() {
    }

    static {
        Locale.setDefault(Locale.ROOT);
    }
}
