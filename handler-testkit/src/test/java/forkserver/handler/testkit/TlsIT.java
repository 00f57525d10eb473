package forkserver.handler.testkit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS in the worker, against openssl's own client: a CA, a server certificate for localhost and
 * 127.0.0.1 and a client certificate, all made by openssl in a temporary directory.
 */
class TlsIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    static Path dir;

    @BeforeAll
    static void certificates() throws Exception {
        Files.writeString(dir.resolve("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=forkserver test CA");
        for (String name : List.of("server", "client")) {
            run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", name + ".key", "-out", name + ".csr", "-subj", name.equals("server") ? "/CN=localhost" : "/CN=alice");
            List<String> sign = new ArrayList<>(List.of("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                    "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".pem", "-days", "2"));
            if (name.equals("server")) {
                sign.addAll(List.of("-extfile", "server.ext"));
            }
            run(sign.toArray(String[]::new));
        }
        assertTrue(Files.readString(dir.resolve("server.key")).contains("BEGIN PRIVATE KEY"), "openssl wrote PKCS#8");
    }

    private static ForkserverProcess.Builder tls() {
        return ForkserverProcess.builder().handler(TlsFacts.class)
                .option("--tls-cert", dir.resolve("server.pem").toString(), "--tls-key", dir.resolve("server.key").toString());
    }

    @Test
    void opensslsClientTalksPlaintextToTheHandlerWhichSeesTheSession() throws Exception {
        try (ForkserverProcess server = tls().start()) {
            String answer = sClient(server, "hello\n", "-servername", "localhost");
            assertTrue(answer.contains("got=hello protocol=TLSv1.3 cipher=TLS_"), answer);
            assertTrue(answer.contains("sni=localhost peer=null session=TLSv1.3"), answer);
            server.awaitLog("end .*status=0", WAIT);
        }
    }

    @Test
    void aClientCertificateIsRequiredAndShownWithTlsClientCa() throws Exception {
        try (ForkserverProcess server = tls().option("--tls-client-ca", dir.resolve("ca.pem").toString()).start()) {
            String answer = sClient(server, "hi\n", "-cert", dir.resolve("client.pem").toString(),
                    "-key", dir.resolve("client.key").toString());
            assertTrue(answer.contains("got=hi") && answer.contains("peer=CN=alice"), answer);
            String refused = sClient(server, "hi\n");
            assertFalse(refused.contains("got="), refused);
            server.awaitLog("TLS handshake failed", WAIT);
            server.awaitLog("end .*status=4", WAIT);
        }
    }

    @Test
    void aPlaintextClientIsOneLineAndStatus4() throws Exception {
        try (ForkserverProcess server = tls().start(); Socket client = new Socket()) {
            client.connect(server.address(), 10_000);
            client.setSoTimeout(60_000);
            client.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            client.getInputStream().readAllBytes(); // a TLS alert at most, then the end
            String line = server.awaitLog("TLS handshake failed", WAIT);
            server.awaitLog("end .*status=4", WAIT);
            String pid = line.replaceFirst(".*pid=(\\d+).*", "$1");
            long lines = server.log().stream().filter(l -> l.contains("stderr pid=" + pid)).count();
            assertEquals(1, lines, "one line, no stack trace: " + server.log());
        }
    }

    @Test
    void aSilentClientTimesOut() throws Exception {
        try (ForkserverProcess server = tls().option("--tls-handshake-timeout", "1s").start(); Socket client = new Socket()) {
            client.connect(server.address(), 10_000);
            server.awaitLog("TLS handshake timed out after 1000 ms", WAIT);
            server.awaitLog("end .*status=4", WAIT);
        }
    }

    @Test
    void sparesAreReadyWithTheKeyLoaded() throws Exception {
        try (ForkserverProcess server = tls().option("--spares", "1").start()) {
            server.awaitLog("spare-ready", WAIT);
            String answer = sClient(server, "warm\n", "-servername", "localhost");
            assertTrue(answer.contains("got=warm protocol=TLSv1.3"), answer);
        }
    }

    @Test
    void aKeyThatIsNotTheCertificatesStopsTheSupervisorAtStartUp() {
        IOException failure = assertThrows(IOException.class, () -> ForkserverProcess.builder().handler(TlsFacts.class)
                .option("--tls-cert", dir.resolve("server.pem").toString(), "--tls-key", dir.resolve("ca.pem").toString())
                .start().close());
        assertTrue(failure.getMessage().contains("exited 2"), failure.getMessage());
        assertTrue(failure.getMessage().contains("BEGIN PRIVATE KEY"), failure.getMessage());
    }

    /** openssl s_client against the server, verifying it with our CA; its stdout. */
    private static String sClient(ForkserverProcess server, String input, String... options) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-quiet", "-verify_return_error",
                "-CAfile", dir.resolve("ca.pem").toString(), "-connect", "127.0.0.1:" + server.address().getPort()));
        command.addAll(List.of(options));
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        process.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().flush();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("openssl s_client did not end: " + out);
        }
        process.getOutputStream().close();
        return out;
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
    }
}
