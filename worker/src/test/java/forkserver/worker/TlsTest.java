package forkserver.worker;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The worker's TLS on real connections, with a key openssl makes for each run. */
class TlsTest {

    @TempDir
    static Path dir;

    private static Tls tls;

    @BeforeAll
    static void key() throws Exception {
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "cert.pem")
                .directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).start();
        String out = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(openssl.waitFor(60, TimeUnit.SECONDS) && openssl.exitValue() == 0, "openssl req: " + out);
        tls = Tls.fromEnvironment(Map.of(Tls.CERT, dir.resolve("cert.pem").toString(), Tls.KEY, dir.resolve("key.pem").toString()));
    }

    /**
     * JSSE sends the server's flight as several records; with Nagle's algorithm on, the later ones
     * would wait for the client's (possibly delayed) acknowledgement of the first.
     */
    @Test
    void theHandshakeTurnsNaglesAlgorithmOffOnATcpConnection() throws Exception {
        try (SocketPair pair = SocketPair.open()) {
            assertFalse(pair.server().getOption(StandardSocketOptions.TCP_NODELAY), "a new connection has Nagle on");
            SSLContext clientContext = trustingClient();
            CompletableFuture<String> client = CompletableFuture.supplyAsync(
                    () -> clientHandshake(pair.client(), clientContext).getSession().getProtocol());
            SSLSocket socket = tls.handshake(pair.server());
            assertEquals("TLSv1.3", client.get(60, TimeUnit.SECONDS));
            assertEquals("TLSv1.3", socket.getSession().getProtocol());
            assertTrue(pair.server().getOption(StandardSocketOptions.TCP_NODELAY));
        }
    }

    /**
     * Every connection is its own JVM with its own ticket key: a session ticket could never be
     * redeemed, so none is sent.
     */
    @Test
    void noSessionTicketIsSent() throws Exception {
        try (SocketPair pair = SocketPair.open()) {
            SSLContext clientContext = trustingClient();
            CompletableFuture<String> client = CompletableFuture.supplyAsync(() -> {
                try {
                    // A ticket comes after the handshake: reading the server's line reads it too.
                    return new String(clientHandshake(pair.client(), clientContext).getInputStream().readNBytes(3),
                            StandardCharsets.US_ASCII);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            SSLSocket socket = tls.handshake(pair.server());
            socket.getOutputStream().write("hi\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            assertEquals("hi\n", client.get(60, TimeUnit.SECONDS));
            assertEquals("TLSv1.3", socket.getSession().getProtocol());
            // JSSE's client caches the handshake's own session, and a second, resumable copy for
            // each ticket it receives (2 here with -Djdk.tls.server.newSessionTicketCount=1).
            assertEquals(1, java.util.Collections.list(clientContext.getClientSessionContext().getIds()).size(),
                    "the client holds the handshake's session only, no ticket's");
        }
    }

    /** JSSE's socket needs TCP: a UNIX-domain connection is one line and no handshake, not a stack trace. */
    @Test
    void aUnixDomainConnectionIsOneLineAndNoConnection() throws Exception {
        Path path = dir.resolve("tls.sock");
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                .bind(UnixDomainSocketAddress.of(path));
             SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path));
             SocketChannel served = listener.accept()) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            assertNull(tls.connect(served, Map.of(), List.of(), new PrintStream(err, true, StandardCharsets.UTF_8)));
            assertEquals("forkserver worker: TLS needs a TCP connection, and this one is a UNIX-domain socket\n",
                    err.toString(StandardCharsets.UTF_8));
            assertTrue(client.isConnected());
        }
    }

    /** The client's side of a handshake over {@code channel}, with {@code context}: its TLS socket. */
    private static SSLSocket clientHandshake(SocketChannel channel, SSLContext context) {
        try {
            SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(channel.socket(), "localhost",
                    channel.socket().getPort(), false);
            socket.setSoTimeout(60_000);
            socket.startHandshake();
            return socket;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A client's context that trusts any certificate, as the spares' warm-up client does: the tests need the handshake, not the check. */
    private static SSLContext trustingClient() throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new Tls.TrustingManager()}, null);
        return context;
    }
}
