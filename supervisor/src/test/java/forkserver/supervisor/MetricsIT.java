package forkserver.supervisor;

import forkserver.supervisor.metrics.MetricsEndpoint;
import forkserver.testkit.Await;
import forkserver.testkit.Command;
import forkserver.testkit.Descriptors;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code --metrics}: scraped as Prometheus would, checked with promtool, scraped by a real
 * Prometheus server, and unable to hurt serving.
 */
class MetricsIT {

    private static final Pattern METRICS_ON = Pattern.compile("metrics on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern SAMPLE = Pattern.compile("^([a-z_]+)(\\{[^}]*})? (\\S+)$");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static int metricsPort(ServerProcess supervisor) {
        return Integer.parseInt(supervisor.awaitMatch(METRICS_ON).group(1));
    }

    private static HttpResponse<String> get(String url, String method) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static String scrape(int port) throws IOException, InterruptedException {
        HttpResponse<String> response = get("http://127.0.0.1:" + port + "/metrics", "GET");
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        return response.body();
    }

    /** Samples by name and labels as written ({@code forkserver_connections_rejected_total{reason="rate"}}). */
    private static Map<String, Double> samples(String exposition) {
        Map<String, Double> samples = new HashMap<>();
        for (String line : exposition.lines().toList()) {
            Matcher m = SAMPLE.matcher(line);
            if (m.matches()) {
                samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(3)));
            }
        }
        return samples;
    }

    @Test
    void countersMoveAsSessionsRejectionsAndExitsHappenAndPromtoolFindsNoProblem() throws Exception {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0",
                "-c", "2", "--over-limit", "reject", "--deny", "127.0.0.2", "--", "cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            int port = metricsPort(supervisor);
            Map<String, Double> before = samples(scrape(port));
            assertEquals(0.0, before.get("forkserver_connections_accepted_total"));
            assertEquals(0.0, before.get("forkserver_connections_rejected_total{reason=\"denied\"}"));
            assertEquals(2.0, before.get("forkserver_children_max"));
            assertEquals(1.0, before.get("forkserver_build_info{java_version=\"" + Runtime.version() + "\",version=\""
                    + jarVersion() + "\"}"), before.toString());

            for (int i = 0; i < 2; i++) {
                try (EchoClient client = EchoClient.connect(address)) {
                    assertEquals("hi", client.roundTrip("hi"));
                }
            }
            // Both children gone before two more connect at -c 2: a client's close is not its child's exit.
            supervisor.awaitMatches(Pattern.compile("end pid=\\d+ status=0 "), 2);
            try (EchoClient denied = EchoClient.connect(address, InetAddress.ofLiteral("127.0.0.2"))) {
                assertEquals("refused: denied", denied.readLine());
            }
            try (EchoClient first = EchoClient.connect(address); EchoClient second = EchoClient.connect(address)) {
                assertEquals("a", first.roundTrip("a"));
                assertEquals("b", second.roundTrip("b"));
                assertEquals(2.0, samples(scrape(port)).get("forkserver_children"));
                try (EchoClient third = EchoClient.connect(address)) {
                    assertEquals("refused: max-children", third.readLine());
                }
                ServerProcess.signal(supervisor.awaitChildPidOf(first.localPort()), "KILL");
                supervisor.awaitMatch(Pattern.compile("end pid=\\d+ signal=KILL"));
            }
            supervisor.awaitMatches(Pattern.compile("end pid="), 4);

            String exposition = scrape(port);
            Map<String, Double> after = samples(exposition);
            assertEquals(6.0, after.get("forkserver_connections_accepted_total"));
            assertEquals(1.0, after.get("forkserver_connections_rejected_total{reason=\"denied\"}"));
            assertEquals(1.0, after.get("forkserver_connections_rejected_total{reason=\"max-children\"}"));
            assertEquals(0.0, after.get("forkserver_connections_rejected_total{reason=\"rate\"}"));
            assertEquals(3.0, after.get("forkserver_child_exits_total{outcome=\"status-0\"}"));
            assertEquals(1.0, after.get("forkserver_child_exits_total{outcome=\"signal-KILL\"}"));
            assertEquals(0.0, after.get("forkserver_children"));
            assertEquals(4.0, after.get("forkserver_spawn_duration_seconds_count"));
            assertEquals(4.0, after.get("forkserver_spawn_duration_seconds_bucket{le=\"+Inf\"}"));
            assertEquals(4.0, after.get("forkserver_session_duration_seconds_count"));
            assertTrue(after.get("forkserver_session_duration_seconds_sum") > 0);
            assertEquals(0.0, after.get("forkserver_proxy_health_checks_total"));
            assertEquals(0.0, after.get("forkserver_spares_idle"));

            Command.Result promtool = Command.run(List.of("promtool", "check", "metrics"), exposition, Duration.ofSeconds(60));
            assumeTrue(promtool.exitValue() != 127 || !promtool.stderr().isEmpty(), "promtool (apt-get install prometheus)");
            assertEquals(0, promtool.exitValue(), promtool.stdout() + promtool.stderr());
            assertEquals("", promtool.stdout() + promtool.stderr(), "no lint problem");
        }
    }

    @Test
    void badRequestsAreTurnedAwayAndStuckScrapersCannotHurtServing() throws Exception {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0",
                "--", "cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            int port = metricsPort(supervisor);
            assertEquals(404, get("http://127.0.0.1:" + port + "/", "GET").statusCode());
            assertEquals(404, get("http://127.0.0.1:" + port + "/metrics/x", "GET").statusCode());
            HttpResponse<String> post = get("http://127.0.0.1:" + port + "/metrics", "POST");
            assertEquals(405, post.statusCode());
            assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
            HttpResponse<String> head = get("http://127.0.0.1:" + port + "/metrics", "HEAD");
            assertEquals(200, head.statusCode());
            assertEquals("", head.body());

            int fdsBefore = Descriptors.of(supervisor.pid()).size();
            List<Socket> stuck = new ArrayList<>();
            try {
                // Scrapers that connect and never write, one that writes half a request, and one
                // that asks and never reads: none of them may cost a client anything.
                for (int i = 0; i < 30; i++) {
                    stuck.add(new Socket("127.0.0.1", port));
                }
                OutputStream half = stuck.get(0).getOutputStream();
                half.write("GET /metr".getBytes(StandardCharsets.US_ASCII));
                half.flush();
                for (int i = 0; i < 3; i++) {
                    try (EchoClient client = EchoClient.connect(address)) {
                        assertEquals("served " + i, client.roundTrip("served " + i));
                    }
                }
                // Until a child is reaped the supervisor holds its stderr pipe and its pidfd:
                // counted only once the three have ended (seen: 33 -> 44 with the last one live).
                supervisor.awaitMatches(Pattern.compile(" end pid="), 3);
                int fdsDuring = Descriptors.of(supervisor.pid()).size();
                assertTrue(fdsDuring <= fdsBefore + MetricsEndpoint.MAX_CONNECTIONS + 2,
                        "at most " + MetricsEndpoint.MAX_CONNECTIONS + " scrapers held: " + fdsBefore + " -> " + fdsDuring);
                // Past the limit the server closes a connection at once; within it, after MAX_SECONDS.
                Socket last = stuck.getLast();
                last.setSoTimeout((MetricsEndpoint.MAX_SECONDS + 20) * 1000);
                assertEquals(-1, last.getInputStream().read(), "closed, not held");
                InputStream halfIn = stuck.get(0).getInputStream();
                stuck.get(0).setSoTimeout((MetricsEndpoint.MAX_SECONDS + 20) * 1000);
                halfIn.readAllBytes(); // closed by the server within maxReqTime (or the read times out: a failure)
            } finally {
                for (Socket socket : stuck) {
                    socket.close();
                }
            }
            Await.until("a scrape once the stuck scrapers are gone", () -> {
                try {
                    return scrape(port).contains("forkserver_connections_accepted_total 3.0");
                } catch (IOException | InterruptedException e) {
                    return false;
                }
            });
        }
    }

    /**
     * A request with a body, however large or endless, is refused unread: the supervisor's heap
     * (256 MiB) would not hold a 600 MB POST read whole, which ended the supervisor.
     */
    @Test
    void aRequestWithABodyIsRefusedUnreadAndServingGoesOn() throws Exception {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0",
                "--", "cat");
             EchoClient held = EchoClient.connect(supervisor.awaitListening())) {
            int port = metricsPort(supervisor);
            assertEquals("before", held.roundTrip("before"));
            assertEquals("HTTP/1.1 413", rawRequest(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                    0));
            assertEquals("HTTP/1.1 413", rawRequest(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                    0));
            // 600 MB announced and sent until the server stops taking it: it answers (or drops the
            // connection) without reading it.
            rawRequest(port, "POST /anything HTTP/1.1\r\nHost: x\r\nContent-Length: 629145600\r\n\r\n", 600);
            rawRequest(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 600);
            assertTrue(supervisor.isAlive());
            assertTrue(supervisor.matches(Pattern.compile("fatal")).isEmpty(), "" + supervisor.stderr());
            assertEquals("after", held.roundTrip("after"), "the session held through it goes on");
            assertTrue(scrape(port).contains("forkserver_connections_accepted_total 1.0"));
        }
    }

    /**
     * Writes {@code head}, then up to {@code megabytes} MiB more while the server takes them, and
     * returns the status line's first 12 characters ("" if the server closed without one).
     */
    private static String rawRequest(int port, String head, int megabytes) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(30_000);
            // A write has no timeout of its own: a server that neither reads nor closes would hold
            // it for ever, so the socket is closed at a deadline (the test then fails on what follows).
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(Duration.ofSeconds(60));
                    socket.close();
                } catch (InterruptedException | IOException e) {
                    // done in time
                }
            });
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            byte[] mebibyte = new byte[1 << 20];
            java.util.Arrays.fill(mebibyte, (byte) 'x');
            try {
                for (int i = 0; i < megabytes; i++) {
                    out.write(mebibyte);
                }
                out.flush();
            } catch (IOException e) {
                // reset or broken pipe: the server stopped taking the body, as it should
            }
            try {
                byte[] status = socket.getInputStream().readNBytes(12);
                return new String(status, StandardCharsets.US_ASCII);
            } catch (IOException e) {
                return "";
            } finally {
                watchdog.interrupt();
            }
        }
    }

    @Test
    void aMetricsAddressInUseIsOneLineAndExitOne() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.ofLiteral("127.0.0.1"))) {
            Command.Result result = Command.run(List.of(Project.bin("supervisor"), "--listen", "127.0.0.1:0",
                    "--metrics", "127.0.0.1:" + taken.getLocalPort()), "", Duration.ofSeconds(60));
            assertEquals(Main.EXIT_FAILURE, result.exitValue(), result.stderr());
            assertEquals(List.of("forkserver: cannot listen on --metrics 127.0.0.1:" + taken.getLocalPort()
                    + ": Address already in use"), result.stderrLines());
        }
    }

    @Test
    void withoutMetricsNoClassOfThePrometheusClientIsLoaded() {
        Map<String, String> classLoadLog = Map.of("FORKSERVER_JAVA_OPTS", "-Xlog:class+load=info:stderr");
        try (ServerProcess supervisor = ServerProcess.supervisor(classLoadLog, "--listen", "127.0.0.1:0", "--", "cat")) {
            try (EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
                assertEquals("hi", client.roundTrip("hi"));
            }
            supervisor.awaitMatch(Pattern.compile("end pid="));
            assertFalse(supervisor.stderr().stream().anyMatch(line -> line.contains(" io.prometheus.")
                    || line.contains(" com.sun.net.httpserver.")), "no metrics classes without --metrics");
        }
        try (ServerProcess supervisor = ServerProcess.supervisor(classLoadLog, "--listen", "127.0.0.1:0",
                "--metrics", "127.0.0.1:0", "--", "cat")) {
            supervisor.awaitMatch(METRICS_ON);
            assertTrue(supervisor.stderr().stream().anyMatch(line -> line.contains(" io.prometheus.")),
                    "the check can see them when they are loaded");
        }
    }

    @Test
    void aRealPrometheusScrapesItAndAnswersAQuery(@TempDir Path directory) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/prometheus")), "prometheus (apt-get install prometheus)");
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0",
                "--", "cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            int port = metricsPort(supervisor);
            for (int i = 0; i < 3; i++) {
                try (EchoClient client = EchoClient.connect(address)) {
                    assertEquals("hi", client.roundTrip("hi"));
                }
            }
            int web = freePort();
            Path config = Files.writeString(directory.resolve("prometheus.yml"), """
                    global:
                      scrape_interval: 1s
                    scrape_configs:
                      - job_name: forkserver
                        static_configs:
                          - targets: ['127.0.0.1:%d']
                    """.formatted(port));
            try (ServerProcess prometheus = ServerProcess.start(List.of("/usr/bin/prometheus",
                    "--config.file=" + config, "--storage.tsdb.path=" + directory.resolve("data"),
                    "--web.listen-address=127.0.0.1:" + web), Map.of())) {
                String query = "http://127.0.0.1:" + web + "/api/v1/query?query="
                        + URLEncoder.encode("forkserver_connections_accepted_total{job=\"forkserver\"}", StandardCharsets.UTF_8);
                String answer = Await.value("Prometheus to answer with 3 accepted; it logged " + prometheus.stderr(),
                        Duration.ofSeconds(90), () -> {
                            try {
                                HttpResponse<String> response = get(query, "GET");
                                return response.statusCode() == 200 && response.body().contains("\"3\"") ? response.body() : null;
                            } catch (IOException | InterruptedException e) {
                                return null; // not listening yet
                            }
                        });
                System.err.println("[prometheus query] " + query + "\n[prometheus answer] " + answer);
                assertTrue(answer.contains("\"status\":\"success\""), answer);
                assertTrue(answer.contains("\"instance\":\"127.0.0.1:" + port + "\""), answer);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.ofLiteral("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }

    /** The version the supervisor's jar says it is (its manifest's, the pom's): what --version prints too. */
    private static String jarVersion() throws java.io.IOException {
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(
                forkserver.testkit.Project.home().resolve("supervisor/target/forkserver-supervisor.jar").toFile())) {
            return jar.getManifest().getMainAttributes().getValue("Implementation-Version");
        }
    }
}
