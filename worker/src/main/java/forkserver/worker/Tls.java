package forkserver.worker;

import forkserver.handler.SocketConnection;

import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TLS in the worker (JSSE): the server's key and certificate chain from PEM files named by
 * {@code FORKSERVER_TLS_CERT} and {@code FORKSERVER_TLS_KEY} (PKCS#8), client certificates
 * required when {@code FORKSERVER_TLS_CLIENT_CA} names the CAs to check them against, and the
 * handshake bounded by {@code FORKSERVER_TLS_HANDSHAKE_TIMEOUT} (default 10s). The handler sees
 * plaintext; the session's facts are added to its environment under s6-tlsserver's names.
 *
 * <p>Only loaded when {@code FORKSERVER_TLS_CERT} is set: a plain worker pays nothing for it.
 */
final class Tls {

    static final String CERT = "FORKSERVER_TLS_CERT";
    static final String KEY = "FORKSERVER_TLS_KEY";
    static final String CLIENT_CA = "FORKSERVER_TLS_CLIENT_CA";
    static final String HANDSHAKE_TIMEOUT = "FORKSERVER_TLS_HANDSHAKE_TIMEOUT";
    static final long DEFAULT_HANDSHAKE_TIMEOUT_MILLIS = 10_000;

    private static final Pattern PRIVATE_KEY =
            Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    private final SSLContext context;
    private final boolean clientCertificates;
    private final int handshakeTimeoutMillis;

    private Tls(SSLContext context, boolean clientCertificates, int handshakeTimeoutMillis) {
        this.context = context;
        this.clientCertificates = clientCertificates;
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
    }

    /** A set-up that cannot serve (a file missing, a key that does not parse): its one line. */
    static final class SetupFailed extends Exception {
        private static final long serialVersionUID = 1L;

        SetupFailed(String message) {
            super(message, null, false, false);
        }
    }

    /** The handshake did not complete: its reason, one line. */
    static final class HandshakeFailed extends Exception {
        private static final long serialVersionUID = 1L;

        HandshakeFailed(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The TLS set-up, or one line on {@code err} and the process ends (EXIT_USAGE): a worker that
     * cannot speak TLS must not answer a TLS client in plaintext. Launcher calls this, not
     * {@link #fromEnvironment}, so that it has no catch of this class's exceptions (verifying it
     * would load them on every connection).
     */
    static Tls loadOrExit(Map<String, String> environment) {
        try {
            return fromEnvironment(environment);
        } catch (SetupFailed e) {
            System.err.println("forkserver worker: " + e.getMessage());
            Launcher.end(Launcher.EXIT_USAGE);
            throw new AssertionError(e);
        }
    }

    /** For {@code Launcher --check}: EXIT_OK when the set-up loads, else its line and EXIT_USAGE. */
    static int check(Map<String, String> environment, java.io.PrintStream err) {
        try {
            fromEnvironment(environment);
            return Launcher.EXIT_OK;
        } catch (SetupFailed e) {
            err.println("forkserver worker: " + e.getMessage());
            return Launcher.EXIT_USAGE;
        }
    }

    /**
     * The handshake, then the handler's connection over it, with the session's facts in its
     * environment; a failed or timed-out handshake is one line on {@code err} and null (the
     * caller exits EXIT_TLS).
     */
    SocketConnection connect(SocketChannel channel, Map<String, String> environment, List<String> arguments,
            java.io.PrintStream err) {
        SSLSocket socket;
        try {
            socket = handshake(channel);
        } catch (HandshakeFailed e) {
            err.println("forkserver worker: " + e.getMessage());
            return null;
        }
        Map<String, String> withFacts = new HashMap<>(environment);
        facts(socket.getSession(), withFacts);
        return new SocketConnection(channel, new TlsChannel(socket), socket.getSession(), withFacts, arguments);
    }

    static boolean configured(Map<String, String> environment) {
        String cert = environment.get(CERT);
        return cert != null && !cert.isEmpty();
    }

    /** JSSE's switch for the TLS 1.3 session tickets a server sends after each full handshake. */
    static final String TICKETS_PROPERTY = "jdk.tls.server.newSessionTicketCount";

    /**
     * No session tickets (unless the operator set {@link #TICKETS_PROPERTY}): a ticket is sealed
     * with a key of this JVM's own, and this JVM serves one connection, so no ticket it issued
     * could ever be redeemed. Sending one costs its sealing and a record the client must read,
     * and a client that offers it later only pays for the resumption that fails. Read by JSSE
     * once, when it first configures a context: this runs before.
     */
    private static void noSessionTickets() {
        if (System.getProperty(TICKETS_PROPERTY) == null) {
            System.setProperty(TICKETS_PROPERTY, "0");
        }
    }

    /** Loads the key, the chain and the client CAs, and makes the SSLContext. */
    static Tls fromEnvironment(Map<String, String> environment) throws SetupFailed {
        noSessionTickets();
        String certFile = environment.get(CERT);
        String keyFile = environment.get(KEY);
        if (keyFile == null || keyFile.isEmpty()) {
            throw new SetupFailed(CERT + " is set but " + KEY + " is not: give the certificate's private key (PEM, PKCS#8)");
        }
        try {
            List<X509Certificate> chain = certificates(certFile, CERT);
            PrivateKey key = privateKey(keyFile, chain.getFirst());
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("server", key, new char[0], chain.toArray(new Certificate[0]));
            KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keyManagers.init(keys, new char[0]);
            String caFile = environment.get(CLIENT_CA);
            boolean clientCertificates = caFile != null && !caFile.isEmpty();
            TrustManagerFactory trustManagers = null;
            if (clientCertificates) {
                KeyStore cas = KeyStore.getInstance("PKCS12");
                cas.load(null, null);
                int i = 0;
                for (X509Certificate ca : certificates(caFile, CLIENT_CA)) {
                    cas.setCertificateEntry("ca" + i++, ca);
                }
                trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                trustManagers.init(cas);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers.getKeyManagers(), trustManagers == null ? null : trustManagers.getTrustManagers(), null);
            return new Tls(context, clientCertificates, handshakeTimeout(environment.get(HANDSHAKE_TIMEOUT)));
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new SetupFailed("TLS set-up failed: " + e.getMessage());
        }
    }

    private static List<X509Certificate> certificates(String file, String variable) throws IOException, SetupFailed {
        byte[] pem = read(file, variable);
        try {
            List<X509Certificate> certificates = java.security.cert.CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem)).stream()
                    .map(X509Certificate.class::cast).toList();
            if (certificates.isEmpty()) {
                throw new SetupFailed(variable + "=" + file + ": no PEM certificate in it");
            }
            return certificates;
        } catch (java.security.cert.CertificateException e) {
            throw new SetupFailed(variable + "=" + file + ": not PEM certificates (" + e.getMessage() + ")");
        }
    }

    private static PrivateKey privateKey(String file, X509Certificate certificate) throws IOException, SetupFailed {
        Matcher pem = PRIVATE_KEY.matcher(new String(read(file, KEY), StandardCharsets.US_ASCII));
        if (!pem.find()) {
            throw new SetupFailed(KEY + "=" + file + ": no '-----BEGIN PRIVATE KEY-----' (PKCS#8, unencrypted);"
                    + " convert with: openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.group(1));
        String algorithm = certificate.getPublicKey().getAlgorithm();
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new SetupFailed(KEY + "=" + file + ": not a " + algorithm + " key for the certificate (" + e.getMessage() + ")");
        }
    }

    private static byte[] read(String file, String variable) throws SetupFailed {
        try {
            return Files.readAllBytes(Path.of(file));
        } catch (IOException e) {
            throw new SetupFailed(variable + "=" + file + ": cannot read it (" + e + ")");
        }
    }

    static int handshakeTimeout(String text) throws SetupFailed {
        if (text == null || text.isEmpty()) {
            return (int) DEFAULT_HANDSHAKE_TIMEOUT_MILLIS;
        }
        try {
            return (int) Math.max(1, Math.min(Integer.MAX_VALUE, IdleTimeoutChannel.parse(text) / 1_000_000));
        } catch (IllegalArgumentException e) {
            throw new SetupFailed(HANDSHAKE_TIMEOUT + ": " + e.getMessage());
        }
    }

    /**
     * Runs the server's handshake on the connection (at most the handshake timeout) and returns
     * the TLS socket over it. The channel must be in blocking mode.
     */
    SSLSocket handshake(SocketChannel channel) throws HandshakeFailed {
        try {
            noDelay(channel);
            SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(channel.socket(), null, false);
            socket.setUseClientMode(false);
            if (clientCertificates) {
                socket.setNeedClientAuth(true);
            }
            socket.setSoTimeout(handshakeTimeoutMillis);
            socket.startHandshake();
            socket.setSoTimeout(0);
            return socket;
        } catch (SocketTimeoutException e) {
            throw new HandshakeFailed("TLS handshake timed out after " + handshakeTimeoutMillis + " ms");
        } catch (IOException e) {
            throw new HandshakeFailed("TLS handshake failed: " + e.getMessage());
        }
    }

    /**
     * Turns Nagle's algorithm off, as stunnel does on both of its sockets. JSSE writes the
     * server's flight as several records, each its own send: with Nagle on, the second waits
     * until the client acknowledges the first, and a client's kernel may delay that
     * acknowledgement by 40 ms. Measured on loopback, a spare's handshake took either 14-25 ms or
     * 51-60 ms, by that delay. JSSE's socket needs TCP: a UNIX-domain connection fails here, in
     * one line.
     */
    private static void noDelay(SocketChannel channel) throws IOException, HandshakeFailed {
        if (!channel.supportedOptions().contains(java.net.StandardSocketOptions.TCP_NODELAY)) {
            throw new HandshakeFailed("TLS needs a TCP connection, and this one is a UNIX-domain socket");
        }
        channel.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
    }

    /**
     * Self-handshakes a spare (or a training run) makes before it is ready. One runs the
     * handshake's code once, mostly interpreted; the JIT compiles what runs often, so more make
     * the first client's handshake cheaper: measured on 2 busy cores, the CPU of a spare's first
     * client handshake was 19-31 ms after 1 and 14-23 ms after 20, for about a second more of
     * the spare's start-up.
     */
    static final int WARM_HANDSHAKES = 20;
    /** A bound on those handshakes together: on a busy machine a spare is ready sooner, less warm. */
    static final long WARM_BUDGET_NANOS = 2_000_000_000L;

    /**
     * Makes the handshake's code and the plaintext path run before a connection needs them (a
     * spare, a training run): up to {@link #WARM_HANDSHAKES} handshakes with itself over private
     * loopback connections, each carrying a line each way, within {@link #WARM_BUDGET_NANOS}. A
     * failure costs speed only.
     */
    void warmUp() {
        long deadline = System.nanoTime() + WARM_BUDGET_NANOS;
        try (java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open()
                .bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 1)) {
            Tls warm = new Tls(context, false, handshakeTimeoutMillis);
            for (int i = 0; i < WARM_HANDSHAKES && System.nanoTime() - deadline < 0; i++) {
                // A new client each time, with no session to resume: a resumed handshake skips
                // the server's certificate and its signature, which every new client's needs.
                SSLContext trustAll = SSLContext.getInstance("TLS");
                trustAll.init(null, new javax.net.ssl.TrustManager[] {new TrustingManager()}, null);
                warm.warmHandshake(server, trustAll);
            }
        } catch (IOException | GeneralSecurityException | InterruptedException | HandshakeFailed e) {
            // no loopback, or a warm handshake failed: the first connection pays instead
        }
    }

    /** One handshake with a client of this process's own, then a line each way over it. */
    private void warmHandshake(java.nio.channels.ServerSocketChannel server, SSLContext trustAll)
            throws IOException, InterruptedException, HandshakeFailed {
        Thread client = Thread.ofPlatform().daemon().start(() -> {
            try (SSLSocket socket = (SSLSocket) trustAll.getSocketFactory()
                    .createSocket(server.socket().getInetAddress(), server.socket().getLocalPort())) {
                socket.setSoTimeout(handshakeTimeoutMillis);
                socket.startHandshake();
                socket.getOutputStream().write(WARM_LINE);
                socket.getOutputStream().flush();
                socket.getInputStream().readAllBytes();
            } catch (IOException e) {
                // the server's side says what matters
            }
        });
        try (SocketChannel served = server.accept()) {
            SSLSocket socket = handshake(served);
            facts(socket.getSession(), new HashMap<>());
            TlsChannel plaintext = new TlsChannel(socket);
            java.nio.ByteBuffer line = java.nio.ByteBuffer.allocate(WARM_LINE.length);
            while (line.hasRemaining() && plaintext.read(line) >= 0) {
                // the whole line, however TLS records split it
            }
            plaintext.write(line.flip());
            plaintext.endOfConversation();
            socket.close();
        } finally {
            client.join(handshakeTimeoutMillis);
        }
    }

    private static final byte[] WARM_LINE = "warm\n".getBytes(StandardCharsets.US_ASCII);

    /** s6-tlsserver's names for the session's facts, into {@code environment}. */
    static void facts(SSLSession session, Map<String, String> environment) {
        environment.put("SSL_PROTOCOL", session.getProtocol());
        environment.put("SSL_CIPHER", session.getCipherSuite());
        if (session instanceof ExtendedSSLSession extended) {
            for (SNIServerName name : extended.getRequestedServerNames()) {
                if (name instanceof SNIHostName host) {
                    environment.put("SSL_TLS_SNI_SERVERNAME", host.getAsciiName());
                }
            }
        }
        try {
            Certificate[] peer = session.getPeerCertificates();
            if (peer.length > 0 && peer[0] instanceof X509Certificate client) {
                environment.put("SSL_PEER_CERT_SUBJECT", client.getSubjectX500Principal().getName());
                environment.put("SSL_PEER_CERT_HASH",
                        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(client.getEncoded())));
            }
        } catch (SSLPeerUnverifiedException e) {
            // no client certificate: no SSL_PEER_* variables
        } catch (GeneralSecurityException e) {
            // SHA-256 is always there; a certificate that cannot be encoded has no hash to give
        }
    }

    /** For the warm-up's own client only (and TlsTest's): it talks to this process's own key. */
    static final class TrustingManager implements javax.net.ssl.X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
