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
 * <p>Usage: {@code HandlersBench HOME WORK ROUNDS COMMAND}. WORK holds what {@code bin/bench-handlers}
 * prepared: {@code http-hello.jar}, its AOT cache {@code http-hello.aot}, {@code cert.pem},
 * {@code key.pem} (PKCS#8) and {@code server.p12} (the same, password {@code bench}) for a
 * self-signed localhost certificate.
 */
public final class HandlersBench {

    static final String HANDLER = "com.example.HttpHello";
    static final String REQUEST = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    static final int WARM_UP_ROUNDS = 3;

    /** One connection's figures in milliseconds from the start of connect: TLS handshake done (0 without), first response in. */
    record Timing(double handshake, double response) {
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
            List<Series> series = new ArrayList<>(List.of(
                    new Series("1. echo handler, `--spares 1`", () -> echo(echoSpares.address), false),
                    new Series("2. HTTP example, `--spares 1` (its warm-up)", () -> http(httpSpares.address, null), false),
                    new Series("3. HTTP example, on demand (forkserver's AOT cache)", () -> http(httpOnDemand.address, null), false),
                    new Series("4. HTTP example, on demand, its own AOT cache", () -> http(httpOwnAot.address, null), false),
                    new Series("5. HTTPS example, `--spares 1`", () -> http(httpsSpares.address, context(work, false)), true),
                    new Series("6. HTTPS example, on demand", () -> http(httpsOnDemand.address, context(work, false)), true),
                    new Series("7. TLS in a warm JVM (JSSE, this bench's own server)", () -> http(inJvm.address(),
                            context(work, false)), true)));
            if (ucspi != null) {
                series.add(new Series("8. `tcpserver` → native echo", () -> echo(ucspi.address), false));
            }
            if (tunnel != null) {
                series.add(new Series("9. `stunnel` → `tcpserver` → native echo", () -> tlsEcho(tunnel.address(),
                        context(work, false)), true));
            }
            Timing[][] timings = new Timing[series.size()][rounds];
            for (int round = -WARM_UP_ROUNDS; round < rounds; round++) {
                for (int k = 0; k < series.size(); k++) {
                    SparesBench.settle(pools, 1);
                    Timing t = series.get(k).client().connect();
                    if (round >= 0) {
                        timings[k][round] = t;
                    }
                }
                System.err.printf("\rround %d of %d", round + 1, rounds);
            }
            System.err.println();
            String loadAfter = Files.readString(Path.of("/proc/loadavg")).strip();
            System.out.print(report(command, rounds, series, timings, loadBefore, loadAfter,
                    tcpserver == null ? "not installed (package ucspi-tcp)" : null,
                    stunnel == null ? "not installed (package stunnel4)" : null));
        }
    }

    static String report(String command, int rounds, List<Series> series, Timing[][] timings, String loadBefore,
                         String loadAfter, String noTcpserver, String noStunnel) throws IOException {
        StringBuilder out = new StringBuilder();
        out.append("## Custom handlers: first response, spares, AOT cache, TLS\n\n");
        out.append("Measured: ").append(OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")))
                .append("  \nMachine: ").append(WorkerStartupBench.machine())
                .append("  \nJDK: ").append(System.getProperty("java.home"))
                .append("  \nLoad average (1, 5, 15 min; runnable/all; last pid): before ").append(loadBefore)
                .append(", after ").append(loadAfter)
                .append("  \nCommand: `").append(command).append("`\n\n");
        out.append(rounds).append(" rounds after ").append(WARM_UP_ROUNDS).append(" of warm-up; each round one new connection"
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
        out.append(String.format(Locale.ROOT, "TLS with spares, breakdown: (5) − (2) = %.1f ms added by TLS; of (5), the"
                        + " handshake %.1f ms and the request after it %.1f ms (plain (2): %.1f ms). A warm JVM's handshake"
                        + " (7), its round trips and its crypto alone: %.1f ms; so the spare's handshake costs %.1f ms over"
                        + " round trips and crypto: the TLS code is not as warm in that process as in a long-running"
                        + " JVM (its self-handshakes before it is ready compile it with the workers' quick JIT tier"
                        + " only; their CPU also competes with the replacement spare starting beside it).",
                p50(response[4]) - p50(response[1]), p50(handshake[4]), p50(after[4]), p50(response[1]), p50(handshake[6]),
                p50(handshake[4]) - p50(handshake[6])));
        int stunnelRow = series.size() - 1;
        if (noStunnel == null && noTcpserver == null) {
            out.append(String.format(Locale.ROOT, " stunnel's handshake (9, OpenSSL, a process forked per connection): %.1f ms.",
                    p50(handshake[stunnelRow])));
        }
        out.append("\n");
        if (noTcpserver != null) {
            out.append("\ntcpserver: ").append(noTcpserver).append(".");
        }
        if (noStunnel != null) {
            out.append("\nstunnel: ").append(noStunnel).append(".");
        }
        return out.append("\n").toString();
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
        long start = System.nanoTime();
        try (Socket plain = connect(server)) {
            Socket socket = tls == null ? plain : handshake(plain, tls, server);
            double handshake = tls == null ? 0 : (System.nanoTime() - start) / 1e6;
            OutputStream out = socket.getOutputStream();
            out.write(REQUEST.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String head = readHead(socket.getInputStream());
            if (!head.startsWith("HTTP/1.1 200 ")) {
                throw new IllegalStateException("not a 200 from " + server + ": " + head);
            }
            int length = Integer.parseInt(head.replaceAll("(?is).*\r\ncontent-length: *(\\d+).*", "$1"));
            socket.getInputStream().readNBytes(length);
            return new Timing(handshake, (System.nanoTime() - start) / 1e6);
        }
    }

    /** The echo protocol over TLS: handshake, one line, its echo. */
    static Timing tlsEcho(InetSocketAddress server, SSLContext tls) throws IOException {
        long start = System.nanoTime();
        try (Socket plain = connect(server)) {
            SSLSocket ssl = handshake(plain, tls, server);
            double handshake = (System.nanoTime() - start) / 1e6;
            ssl.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
            ssl.getOutputStream().flush();
            InputStream in = ssl.getInputStream();
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
            return new Timing(handshake, (System.nanoTime() - start) / 1e6);
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
    static final class WarmTlsServer implements AutoCloseable {
        private final SSLServerSocket socket;
        private final Thread acceptor;

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
        public void close() throws IOException {
            socket.close();
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
