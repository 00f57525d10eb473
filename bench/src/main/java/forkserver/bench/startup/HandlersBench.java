package forkserver.bench.startup;

import forkserver.bench.Session;
import forkserver.bench.Stats;
import forkserver.bench.startup.SparesBench.Server;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A custom handler's first response (the HTTP example, {@code examples/http}) on demand, with
 * spares warmed by its own warm-up and with its own AOT cache; over TLS (handshake included)
 * with spares and on demand; beside the echo handler with spares (the yardstick of "a custom
 * handler within 1.5 x the echo handler"), and, as references, stunnel in front of tcpserver
 * running the native echo, tcpserver alone, and a TLS server inside this (warm) JVM: what a
 * handshake's round trips and crypto cost when nothing else is paid. Side by side, interleaved
 * (one connection of each series per round, every spare pool full before each), as Markdown.
 *
 * <p>Usage: {@code HandlersBench HOME WORK ROUNDS COMMAND [WARM_UP]} (WARM_UP rounds first, default
 * {@link #WARM_UP_ROUNDS}). WORK holds what {@code bin/bench-handlers}
 * prepared: {@code http-hello.jar}, its AOT cache {@code http-hello.aot}, {@code cert.pem},
 * {@code key.pem} (PKCS#8) and {@code server.p12} (the same, password {@code bench}) for a
 * self-signed localhost certificate.
 */
public final class HandlersBench {

    static final String HANDLER = "com.example.HttpHello";
    static final String REQUEST = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    /**
     * Rounds before the measured ones, by default: a supervisor runs its JIT at its quick tier
     * only, compiling each method of its accept and hand-off path after about ten calls, so over
     * its first few dozen connections its compiler thread takes the CPU a handshake needs. Measured
     * on the TLS spare's supervisor: 5-13 ms of compiling during each of its first 16 handshakes,
     * 0-2 ms after 30.
     */
    static final int WARM_UP_ROUNDS = 30;

    /**
     * One connection's figures in milliseconds from the start of connect: TLS handshake done (0
     * without), first response in; and of the handshake, the server's CPU time, its wait for a CPU
     * and this client's CPU time (NaN where not measured).
     */
    record Timing(double handshake, double response, double serverCpu, double serverWait, double clientCpu,
                  double clientWait, double supervisorCpu, double supervisorWait) {
        Timing(double handshake, double response) {
            this(handshake, response, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
    }

    /**
     * The server's side of one TLS handshake: {@link #before} the client connects, {@link #after}
     * its handshake is done; {CPU ms, wait-for-a-CPU ms} of the server, and the same of the
     * process that handed it the connection (forkserver's supervisor), NaN where not known.
     */
    interface ServerSide {
        void before() throws IOException;

        double[] after() throws IOException;

        ServerSide NONE = new ServerSide() {
            public void before() {
            }

            public double[] after() {
                return new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
            }
        };

        /**
         * A server process ({@code pid} asked before each connection; -1: not known then), all its
         * threads, and the {@code handing} one (-1: none) that gives it its connections.
         */
        static ServerSide process(java.util.concurrent.Callable<Long> pid, long handing) {
            return new ServerSide() {
                private long server = -1;
                private ServerCpu.Sample start;
                private ServerCpu.Sample handingStart;

                public void before() throws IOException {
                    try {
                        server = pid.call();
                    } catch (Exception e) {
                        throw new IOException(e);
                    }
                    start = server < 0 ? null : ServerCpu.of(server);
                    handingStart = handing < 0 ? null : ServerCpu.of(handing);
                }

                public double[] after() throws IOException {
                    if (start == null) {
                        return new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
                    }
                    ServerCpu.awaitIdle(server, 1_000_000_000L);
                    ServerCpu.Sample spent = ServerCpu.of(server).minus(start);
                    ServerCpu.Sample handed = handingStart == null ? null : ServerCpu.of(handing).minus(handingStart);
                    return new double[] {spent.cpuNanos() / 1e6, spent.waitNanos() / 1e6,
                            handed == null ? Double.NaN : handed.cpuNanos() / 1e6, handed == null ? Double.NaN : handed.waitNanos() / 1e6};
                }
            };
        }
    }

    /** A measured series: its label, how to make one connection, and whose spares must be ready first. */
    record Series(String label, Client client, boolean tls) {
    }

    interface Client {
        Timing connect() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]).toAbsolutePath().normalize();
        Path work = Path.of(args[1]).toAbsolutePath().normalize();
        int rounds = Integer.parseInt(args[2]);
        String command = args.length > 3 ? args[3] : "bin/bench-handlers " + rounds;
        int warmUp = args.length > 4 ? Integer.parseInt(args[4]) : WARM_UP_ROUNDS;
        String loadBefore = Files.readString(Path.of("/proc/loadavg")).strip();
        String jar = work.resolve("http-hello.jar").toString();
        String cert = work.resolve("cert.pem").toString();
        String key = work.resolve("key.pem").toString();
        Map<String, String> http = Map.of("FORKSERVER_WORKER_CLASSPATH", jar);
        Map<String, String> httpAot = Map.of("FORKSERVER_WORKER_CLASSPATH", jar,
                "FORKSERVER_WORKER_AOT_CACHE", work.resolve("http-hello.aot").toString());
        String[] tlsOptions = {"--tls-cert", cert, "--tls-key", key};
        SSLContext serverContext = context(work, true);

        String tcpserver = List.of("/usr/bin/tcpserver", "/usr/local/bin/tcpserver").stream()
                .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
        String stunnel = List.of("/usr/bin/stunnel4", "/usr/bin/stunnel").stream()
                .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
        List<String> echo = forkserver.bench.NativeEcho.prepare(home).command();

        try (Server echoSpares = Server.supervisor(home, "", "--spares", "1");
             Server httpSpares = Server.supervisor(home, http, "", "--handler", HANDLER, "--spares", "1");
             Server httpOnDemand = Server.supervisor(home, http, "", "--handler", HANDLER);
             Server httpOwnAot = Server.supervisor(home, httpAot, "", "--handler", HANDLER);
             Server httpsSpares = Server.supervisor(home, http, "", concat(tlsOptions, "--handler", HANDLER, "--spares", "1"));
             Server httpsOnDemand = Server.supervisor(home, http, "", concat(tlsOptions, "--handler", HANDLER));
             Server ucspi = tcpserver == null ? null : Server.tcpserver(tcpserver, echo);
             Stunnel tunnel = stunnel == null || ucspi == null ? null : Stunnel.start(stunnel, work, ucspi.address);
             WarmTlsServer inJvm = new WarmTlsServer(serverContext)) {
            List<Server> pools = List.of(echoSpares, httpSpares, httpsSpares);
            ServerSide spareSide = ServerSide.process(() -> ServerCpu.spareOf(httpsSpares.process),
                    httpsSpares.process.pid());
            List<Series> series = new ArrayList<>(List.of(
                    new Series("1. echo handler, `--spares 1`", () -> echo(echoSpares.address), false),
                    new Series("2. HTTP example, `--spares 1` (its warm-up)", () -> http(httpSpares.address, null), false),
                    new Series("3. HTTP example, on demand (forkserver's AOT cache)", () -> http(httpOnDemand.address, null), false),
                    new Series("4. HTTP example, on demand, its own AOT cache", () -> http(httpOwnAot.address, null), false),
                    new Series("5. HTTPS example, `--spares 1`", () -> http(httpsSpares.address, context(work, false),
                            spareSide), true),
                    new Series("6. HTTPS example, on demand", () -> http(httpsOnDemand.address, context(work, false)), true),
                    new Series("7. TLS in a warm JVM (JSSE, this bench's own server)", () -> http(inJvm.address(),
                            context(work, false), inJvm), true)));
            if (ucspi != null) {
                series.add(new Series("8. `tcpserver` → native echo", () -> echo(ucspi.address), false));
            }
            if (tunnel != null) {
                ServerSide stunnelSide = ServerSide.process(() -> tunnel.process().pid(), -1);
                series.add(new Series("9. `stunnel` → `tcpserver` → native echo", () -> tlsEcho(tunnel.address(),
                        context(work, false), stunnelSide), true));
            }
            Timing[][] timings = new Timing[series.size()][rounds];
            for (int round = -warmUp; round < rounds; round++) {
                for (int k = 0; k < series.size(); k++) {
                    SparesBench.settle(pools, 1);
                    Timing t = series.get(k).client().connect();
                    if (round >= 0) {
                        timings[k][round] = t;
                    }
                }
                if (round < 0) {
                    System.err.printf("\rwarm-up round %d of %d", warmUp + round + 1, warmUp);
                } else {
                    System.err.printf("\rround %d of %d        ", round + 1, rounds);
                }
            }
            System.err.println();
            double rtt = loopbackRtt();
            String loadAfter = Files.readString(Path.of("/proc/loadavg")).strip();
            System.out.print(report(command, rounds, warmUp, series, timings, rtt, loadBefore, loadAfter,
                    tcpserver == null ? "not installed (package ucspi-tcp)" : null,
                    stunnel == null ? "not installed (package stunnel4)" : null));
        }
    }

    static String report(String command, int rounds, int warmUp, List<Series> series, Timing[][] timings, double rtt, String loadBefore,
                         String loadAfter, String noTcpserver, String noStunnel) throws IOException {
        StringBuilder out = new StringBuilder();
        out.append("## Custom handlers: first response, spares, AOT cache, TLS\n\n");
        out.append("Measured: ").append(OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")))
                .append("  \nMachine: ").append(WorkerStartupBench.machine())
                .append("  \nJDK: ").append(System.getProperty("java.home"))
                .append("  \nLoad average (1, 5, 15 min; runnable/all; last pid): before ").append(loadBefore)
                .append(", after ").append(loadAfter)
                .append("  \nCommand: `").append(command).append("`\n\n");
        out.append(rounds).append(" rounds after ").append(warmUp).append(" of warm-up; each round one new connection"
                + " to each series in turn, every spare pool full before each. Client: a JVM (this bench), connect,"
                + " TLS handshake when there is TLS (a fresh client context each time: no session resumption), `GET /`"
                + " (echo: one line), until the whole response is in. Handshake = connect + handshake;"
                + " after = the rest, request to response.\n\n");
        out.append("| series | first response p50 ms | p90 ms | handshake p50 ms | after the handshake p50 ms |\n");
        out.append("| --- | ---: | ---: | ---: | ---: |\n");
        double[][] response = new double[series.size()][];
        double[][] handshake = new double[series.size()][];
        double[][] after = new double[series.size()][];
        for (int k = 0; k < series.size(); k++) {
            Timing[] t = timings[k];
            response[k] = java.util.Arrays.stream(t).mapToDouble(Timing::response).toArray();
            handshake[k] = java.util.Arrays.stream(t).mapToDouble(Timing::handshake).toArray();
            after[k] = java.util.Arrays.stream(t).mapToDouble(x -> x.response() - x.handshake()).toArray();
            boolean tls = series.get(k).tls();
            out.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %s | %s |%n", series.get(k).label(),
                    p50(response[k]), Stats.percentile(response[k], 90), tls ? String.format(Locale.ROOT, "%.1f", p50(handshake[k])) : "",
                    tls ? String.format(Locale.ROOT, "%.1f", p50(after[k])) : ""));
        }
        double echo = p50(response[0]);
        out.append(String.format(Locale.ROOT, "%nRatios of medians: (2)/(1) = **%.2f** (target ≤ 1.5: with spares, a custom"
                        + " handler's first response within 1.5 × the echo handler's); (3)/(2) = %.1f; (4)/(3) = %.2f"
                        + " (its own AOT cache on demand); (6)/(5) = %.1f.%n%n",
                p50(response[1]) / echo, p50(response[2]) / p50(response[1]), p50(response[3]) / p50(response[2]),
                p50(response[5]) / p50(response[4])));
        out.append(String.format(Locale.ROOT, "TLS with spares: (5) − (2) = %.1f ms added by TLS; of (5), the handshake"
                        + " %.1f ms and the request after it %.1f ms (plain (2): %.1f ms).%n%n",
                p50(response[4]) - p50(response[1]), p50(handshake[4]), p50(after[4]), p50(response[1])));
        int stunnelRow = noStunnel == null && noTcpserver == null ? series.size() - 1 : -1;
        out.append(breakdown(timings, rtt, stunnelRow));
        out.append("\n");
        if (noTcpserver != null) {
            out.append("\ntcpserver: ").append(noTcpserver).append(".");
        }
        if (noStunnel != null) {
            out.append("\nstunnel: ").append(noStunnel).append(".");
        }
        return out.append("\n").toString();
    }

    /**
     * The TLS handshakes' breakdown, medians per row over the rounds: the client's wait, the
     * round trips (TCP's connect and TLS 1.3's one flight each way: two), the server's CPU time
     * (all its threads: the handshake and the JIT compiling it) and its wait for a CPU (the run
     * queue), the client's own CPU time on the same cores, and what is left.
     */
    static String breakdown(Timing[][] timings, double rtt, int stunnelRow) {
        int[] rows = stunnelRow < 0 ? new int[] {4, 6} : new int[] {4, 6, stunnelRow};
        String[] names = {"(5) spare", "(7) warm JVM", "(9) stunnel"};
        StringBuilder out = new StringBuilder("TLS handshake, breakdown (medians, ms; round trips from the loopback RTT ")
                .append(String.format(Locale.ROOT, "%.3f ms", rtt)).append(" measured after the rounds; CPU time and waits for a CPU from the kernel's schedstat: the server's and"
                        + " the supervisor's all threads, from before the connect until the server is idle after the"
                        + " handshake, the client's its one thread; the warm JVM's server: its handshake thread's CPU"
                        + " time):\n\n| |");
        for (int k = 0; k < rows.length; k++) {
            out.append(' ').append(names[k]).append(" |");
        }
        out.append("\n| --- |").append(" ---: |".repeat(rows.length)).append('\n');
        String[] labels = {"client's wait: connect + handshake", "round trips: 2 × loopback RTT",
                "server's CPU (all its threads: handshake, JIT)", "server waiting for a CPU (run queue)",
                "supervisor's CPU (accept, hand-off)", "supervisor waiting for a CPU",
                "client's CPU (this bench's JVM, the same cores)", "client waiting for a CPU",
                "rest (not accounted for)"};
        for (int line = 0; line < labels.length; line++) {
            out.append("| ").append(labels[line]).append(" |");
            for (int row : rows) {
                Timing[] t = timings[row];
                double value = switch (line) {
                    case 0 -> p50(java.util.Arrays.stream(t).mapToDouble(Timing::handshake).toArray());
                    case 1 -> 2 * rtt;
                    case 2 -> p50(java.util.Arrays.stream(t).mapToDouble(Timing::serverCpu).toArray());
                    case 3 -> p50(java.util.Arrays.stream(t).mapToDouble(Timing::serverWait).toArray());
                    case 4 -> p50(java.util.Arrays.stream(t).mapToDouble(Timing::supervisorCpu).toArray());
                    case 5 -> p50(java.util.Arrays.stream(t).mapToDouble(Timing::supervisorWait).toArray());
                    case 6 -> p50(java.util.Arrays.stream(t).mapToDouble(Timing::clientCpu).toArray());
                    case 7 -> p50(java.util.Arrays.stream(t).mapToDouble(Timing::clientWait).toArray());
                    default -> p50(java.util.Arrays.stream(t).mapToDouble(x -> x.handshake() - 2 * rtt - x.serverCpu()
                            - orZero(x.serverWait()) - orZero(x.supervisorCpu()) - orZero(x.supervisorWait()) - x.clientCpu()
                            - x.clientWait()).toArray());
                };
                out.append(Double.isNaN(value) ? " not measured |" : String.format(Locale.ROOT, " %.2f |", value));
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static double orZero(double value) {
        return Double.isNaN(value) ? 0 : value;
    }

    static double p50(double[] values) {
        return Stats.percentile(values, 50);
    }

    /** The echo protocol: one line and its echo; its time to the echo. */
    static Timing echo(InetSocketAddress server) {
        return new Timing(0, Session.firstEchoThenClose(server, "handlers"));
    }

    /**
     * One {@code GET /} with {@code Connection: close}, over TLS when {@code tls} is not null;
     * returns once the whole response (its Content-Length) is in, and checks it is a 200.
     */
    static Timing http(InetSocketAddress server, SSLContext tls) throws IOException {
        return http(server, tls, ServerSide.NONE);
    }

    /** The same, with the server's side of the handshake measured by {@code side}. */
    static Timing http(InetSocketAddress server, SSLContext tls, ServerSide side) throws IOException {
        try (Opened opened = Opened.open(server, tls, side)) {
            OutputStream out = opened.socket().getOutputStream();
            out.write(REQUEST.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String head = readHead(opened.socket().getInputStream());
            if (!head.startsWith("HTTP/1.1 200 ")) {
                throw new IllegalStateException("not a 200 from " + server + ": " + head);
            }
            int length = Integer.parseInt(head.replaceAll("(?is).*\r\ncontent-length: *(\\d+).*", "$1"));
            opened.socket().getInputStream().readNBytes(length);
            return opened.timing();
        }
    }

    /** The echo protocol over TLS: handshake, one line, its echo. */
    static Timing tlsEcho(InetSocketAddress server, SSLContext tls, ServerSide side) throws IOException {
        try (Opened opened = Opened.open(server, tls, side)) {
            opened.socket().getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
            opened.socket().getOutputStream().flush();
            InputStream in = opened.socket().getInputStream();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            for (int b; (b = in.read()) != '\n'; ) {
                if (b < 0) {
                    throw new IllegalStateException("no echo from " + server);
                }
                line.write(b);
            }
            if (!line.toString(StandardCharsets.US_ASCII).equals("hello")) {
                throw new IllegalStateException("not the echo from " + server + ": " + line);
            }
            return opened.timing();
        }
    }

    /**
     * A connection opened for one timed request: connected and, with TLS, handshaken, with what
     * that took measured on both sides ({@code side}: the server's); {@link #timing()} adds the
     * time to now. Closing it closes the connection.
     */
    private record Opened(Socket plain, Socket socket, long start, double handshakeMs, double clientMs,
                          double clientWaitMs, double[] serverMs) implements AutoCloseable {

        static Opened open(InetSocketAddress server, SSLContext tls, ServerSide side) throws IOException {
            side.before();
            long clientWait = ownWaitNanos();
            long clientCpu = CLIENT_CPU.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            Socket plain = connect(server);
            try {
                Socket socket = tls == null ? plain : handshake(plain, tls, server);
                double handshake = tls == null ? 0 : (System.nanoTime() - start) / 1e6;
                double clientMs = (CLIENT_CPU.getCurrentThreadCpuTime() - clientCpu) / 1e6;
                double clientWaitMs = (ownWaitNanos() - clientWait) / 1e6;
                return new Opened(plain, socket, start, handshake, clientMs, clientWaitMs, side.after());
            } catch (IOException | RuntimeException e) {
                plain.close();
                throw e;
            }
        }

        /** Its figures, the whole time being from before the connect until now. */
        Timing timing() {
            return new Timing(handshakeMs, (System.nanoTime() - start) / 1e6, serverMs[0], serverMs[1], clientMs, clientWaitMs,
                    serverMs[2], serverMs[3]);
        }

        @Override
        public void close() throws IOException {
            plain.close();
        }
    }

    /** A TCP connection to {@code server}, Nagle off (a request is one write), reads bounded by 30 s. */
    private static Socket connect(InetSocketAddress server) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(server, 10_000);
            socket.setSoTimeout(30_000);
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /** TLS over {@code plain} (closed with it), the handshake done: as the client of a localhost certificate. */
    private static SSLSocket handshake(Socket plain, SSLContext tls, InetSocketAddress server) throws IOException {
        SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(plain, "localhost", server.getPort(), true);
        ssl.startHandshake();
        return ssl;
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IllegalStateException("end of stream in the response's head: " + head);
            }
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    /**
     * A TLS context over WORK's self-signed certificate: the server's (its key) or a client's (it
     * trusts that certificate only). A new client context per connection has an empty session
     * cache, so every handshake is a full one, as a new client's is.
     */
    static SSLContext context(Path work, boolean server) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(work.resolve("server.p12"))) {
            store.load(in, "bench".toCharArray());
        }
        SSLContext context = SSLContext.getInstance("TLS");
        if (server) {
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, "bench".toCharArray());
            context.init(keys.getKeyManagers(), null, null);
        } else {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            context.init(null, trust.getTrustManagers(), null);
        }
        return context;
    }

    private static String[] concat(String[] first, String... rest) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(List.of(rest));
        return all.toArray(String[]::new);
    }

    /**
     * A TLS server in this JVM, warmed by the warm-up rounds: what a handshake costs in round trips
     * and crypto once the TLS code is compiled, with no process to start. Answers one {@code GET}
     * per connection with a fixed 200.
     */
    static final class WarmTlsServer implements AutoCloseable, ServerSide {
        private final SSLServerSocket socket;
        private final Thread acceptor;
        // The CPU time of each handshake on the server's side, as its thread measures it.
        private final java.util.concurrent.BlockingQueue<Long> handshakeCpu = new java.util.concurrent.LinkedBlockingQueue<>();

        WarmTlsServer(SSLContext context) throws IOException {
            socket = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = Thread.ofPlatform().daemon().name("warm-tls-acceptor").start(this::serve);
        }

        InetSocketAddress address() {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), socket.getLocalPort());
        }

        private void serve() {
            byte[] body = "hello\n".getBytes(StandardCharsets.US_ASCII);
            byte[] response = ("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\nhello\n")
                    .getBytes(StandardCharsets.US_ASCII);
            while (!socket.isClosed()) {
                try (Socket client = socket.accept()) {
                    client.setTcpNoDelay(true);
                    client.setSoTimeout(30_000);
                    long cpu = CLIENT_CPU.getCurrentThreadCpuTime();
                    ((SSLSocket) client).startHandshake();
                    handshakeCpu.add(CLIENT_CPU.getCurrentThreadCpuTime() - cpu);
                    readHead(client.getInputStream());
                    client.getOutputStream().write(response);
                    client.getOutputStream().flush();
                } catch (IOException e) {
                    if (!socket.isClosed()) {
                        System.err.println("warm TLS server: " + e);
                    }
                }
            }
        }

        @Override
        public void before() {
            handshakeCpu.clear();
        }

        /** Its thread's CPU time in the handshake; its wait for a CPU is not measured (NaN). */
        @Override
        public double[] after() throws IOException {
            try {
                Long cpu = handshakeCpu.poll(10, java.util.concurrent.TimeUnit.SECONDS);
                return new double[] {cpu == null ? Double.NaN : cpu / 1e6, Double.NaN, Double.NaN, Double.NaN};
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static final java.lang.management.ThreadMXBean CLIENT_CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    /** This thread's time so far waiting on a run queue for a CPU (schedstat's second field), ns. */
    private static long ownWaitNanos() throws IOException {
        return Long.parseLong(Files.readString(Path.of("/proc/thread-self/schedstat")).trim().split(" ")[1]);
    }

    /** The median round trip of one byte over a loopback TCP connection (Nagle off), in ms. */
    static double loopbackRtt() throws IOException {
        try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
             Socket server = listener.accept()) {
            client.setTcpNoDelay(true);
            server.setTcpNoDelay(true);
            // The echo on a thread of its own: each round trip wakes a peer, as a handshake's flights do.
            Thread echo = Thread.ofPlatform().daemon().name("rtt-echo").start(() -> {
                try {
                    for (int b; (b = server.getInputStream().read()) >= 0; ) {
                        server.getOutputStream().write(b);
                    }
                } catch (IOException e) {
                    // closed: done
                }
            });
            double[] rtt = new double[2000];
            for (int i = 0; i < rtt.length; i++) {
                long start = System.nanoTime();
                client.getOutputStream().write(1);
                if (client.getInputStream().read() < 0) {
                    throw new IOException("the loopback echo ended");
                }
                rtt[i] = (System.nanoTime() - start) / 1e6;
            }
            return p50(rtt);
        }
    }

    /** stunnel4 in the foreground, accepting TLS on a free loopback port and connecting to {@code backend}. */
    record Stunnel(Process process, InetSocketAddress address) implements AutoCloseable {

        static Stunnel start(String stunnel, Path work, InetSocketAddress backend) throws Exception {
            int port = Server.freeLoopbackPort();
            Path config = work.resolve("stunnel.conf");
            Files.writeString(config, String.join("\n",
                    "foreground = yes",
                    "pid =",
                    "debug = 3",
                    "[echo]",
                    "accept = 127.0.0.1:" + port,
                    "connect = " + backend.getAddress().getHostAddress() + ":" + backend.getPort(),
                    "cert = " + work.resolve("cert.pem"),
                    "key = " + work.resolve("key.pem"),
                    ""));
            Process process = new ProcessBuilder(stunnel, config.toString()).redirectInput(new File("/dev/null"))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(work.resolve("stunnel.log").toFile()).start();
            try {
                return new Stunnel(process, Server.awaitListening(process, port, "stunnel"));
            } catch (IllegalStateException e) {
                throw new IllegalStateException(e.getMessage() + ": " + Files.readString(work.resolve("stunnel.log")), e);
            }
        }

        @Override
        public void close() {
            WorkerStartupBench.stopTree(process);
        }
    }

    private HandlersBench() {
    }

    static {
        Locale.setDefault(Locale.ROOT);
    }
}
