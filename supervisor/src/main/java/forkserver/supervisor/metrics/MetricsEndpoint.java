package forkserver.supervisor.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * {@code --metrics HOST:PORT}: {@code GET /metrics} in Prometheus's text format (or OpenMetrics,
 * when the scraper asks for it), served by the JDK's {@code com.sun.net.httpserver}.
 *
 * <p>It must not be able to hurt serving, so it shares nothing with the accept path but the
 * counters it reads, and it is bounded: one thread answers (plus the server's dispatcher), at
 * most {@link #MAX_CONNECTIONS} connections are open at once (more are closed at once, so a
 * flood of scrapers cannot take the supervisor's descriptors), a request must arrive within
 * {@link #MAX_SECONDS} seconds and its answer be taken within as long (a scraper that connects
 * and never writes, or never reads, is dropped then), and anything but GET or HEAD of
 * /metrics is a 404 or a 405.
 */
public final class MetricsEndpoint implements Closeable {

    public static final int MAX_CONNECTIONS = 8;
    public static final int MAX_SECONDS = 5;
    private static final String PATH = "/metrics";

    // The JDK's server reads these once, when its first instance is made; an operator's own
    // -D values (FORKSERVER_JAVA_OPTS) win.
    private static final Map<String, String> LIMITS = Map.of(
            "jdk.httpserver.maxConnections", Integer.toString(MAX_CONNECTIONS),
            "sun.net.httpserver.maxReqTime", Integer.toString(MAX_SECONDS),
            "sun.net.httpserver.maxRspTime", Integer.toString(MAX_SECONDS),
            "sun.net.httpserver.maxIdleConnections", "2",
            "sun.net.httpserver.maxReqHeaders", "64",
            "sun.net.httpserver.maxReqHeaderSize", "16384");

    private final HttpServer server;
    private final ExecutorService executor;
    private final Metrics metrics;
    private final ExpositionFormatWriter text = PrometheusTextFormatWriter.create();
    private final ExpositionFormatWriter openMetrics = OpenMetricsTextFormatWriter.create();

    private MetricsEndpoint(HttpServer server, ExecutorService executor, Metrics metrics) {
        this.server = server;
        this.executor = executor;
        this.metrics = metrics;
    }

    /**
     * Binds {@code address} (port 0 picks one) and starts answering.
     *
     * @throws IOException when it cannot be bound (in use, no permission): a start-up error
     */
    public static MetricsEndpoint start(InetSocketAddress address, Metrics metrics) throws IOException {
        LIMITS.forEach((name, value) -> {
            if (System.getProperty(name) == null) {
                System.setProperty(name, value);
            }
        });
        HttpServer server = HttpServer.create(address, 8);
        // One thread: a scrape takes microseconds; a second one waits its turn, bounded by MAX_CONNECTIONS.
        ExecutorService executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                Thread.ofPlatform().daemon().name("forkserver-metrics").factory());
        MetricsEndpoint endpoint = new MetricsEndpoint(server, executor, metrics);
        server.createContext("/", endpoint::answer);
        server.setExecutor(executor);
        server.start();
        return endpoint;
    }

    /** The address bound (with the port picked for port 0). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    private void answer(HttpExchange exchange) throws IOException {
        try (exchange) {
            // Never read a body: a scrape has none, and one read whole (a 600 MB POST, an endless
            // chunked GET) would take the supervisor's heap. Closing the exchange drains at most
            // the JDK server's small drain amount and then drops the connection.
            if (hasBody(exchange)) {
                exchange.getResponseHeaders().set("Connection", "close");
                plain(exchange, 413, "a request to " + PATH + " has no body\n");
                return;
            }
            String method = exchange.getRequestMethod();
            if (!exchange.getRequestURI().getPath().equals(PATH)) {
                plain(exchange, 404, "not found: only " + PATH + " is served here\n");
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                plain(exchange, 405, "method not allowed: " + method + "\n");
                return;
            }
            String accept = exchange.getRequestHeaders().getFirst("Accept");
            ExpositionFormatWriter writer = openMetrics.accepts(accept) ? openMetrics : text;
            ByteArrayOutputStream body = new ByteArrayOutputStream(8192);
            writer.write(body, metrics.collect(), EscapingScheme.fromAcceptHeader(accept));
            exchange.getResponseHeaders().set("Content-Type", writer.getContentType());
            send(exchange, 200, body.toByteArray());
        }
    }

    /** Whether the request says a body follows: any Transfer-Encoding, or a Content-Length but 0. */
    private static boolean hasBody(HttpExchange exchange) {
        var headers = exchange.getRequestHeaders();
        String length = headers.getFirst("Content-Length");
        return headers.containsKey("Transfer-Encoding") || (length != null && !length.strip().equals("0"));
    }

    private static void plain(HttpExchange exchange, int status, String text) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        send(exchange, status, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** Stops answering: open exchanges are dropped, the port is closed. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
