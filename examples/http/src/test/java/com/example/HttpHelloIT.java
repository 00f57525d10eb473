package com.example;

import forkserver.handler.testkit.ForkserverProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** curl against a real forkserver serving the handler: keep-alive in one process, a process per connection. */
class HttpHelloIT {

    private static final Pattern HELLO = Pattern.compile("hello from process (\\d+), request (\\d+) on this connection");

    @Test
    void curlsKeepAliveRequestsShareOneProcessAndItsConnectionsDoNot() throws Exception {
        try (ForkserverProcess server = ForkserverProcess.builder().handler(HttpHello.class).start()) {
            String url = "http://127.0.0.1:" + server.address().getPort() + "/";
            Curl first = curl("-v", url, url);
            List<String[]> answers = hellos(first.stdout);
            assertEquals(2, answers.size(), first.toString());
            assertEquals(answers.get(0)[0], answers.get(1)[0], "one process for the connection: " + first);
            assertEquals(List.of("1", "2"), List.of(answers.get(0)[1], answers.get(1)[1]));
            assertTrue(first.stderr.contains("Re-using existing connection"), first.stderr);

            String other = hellos(curl(url).stdout).getFirst()[0];
            assertNotEquals(answers.get(0)[0], other, "a new connection, a new process");
            Curl missing = curl("-s", "-o", "/dev/null", "-w", "%{http_code}", url + "missing");
            assertEquals("404", missing.stdout);
            server.awaitLog("end .*status=0", Duration.ofSeconds(60));
        }
    }

    @Test
    void sparesWarmedByTheHandlerAnswerToo() throws Exception {
        try (ForkserverProcess server = ForkserverProcess.builder().handler(HttpHello.class)
                .option("--spares", "1").start()) {
            server.awaitLog("spare-ready", Duration.ofSeconds(60));
            Curl answer = curl("http://127.0.0.1:" + server.address().getPort() + "/");
            assertEquals(1, hellos(answer.stdout).size(), answer.toString());
            assertTrue(server.log().stream().noneMatch(line -> line.contains("warm-up failed")), server.log().toString());
        }
    }

    @Test
    void curlOverHttpsWithKeepAlive(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // A CA and a certificate for localhost, made by openssl: the worker speaks TLS, the handler plaintext.
        java.nio.file.Files.writeString(dir.resolve("server.ext"), "subjectAltName=DNS:localhost\n");
        openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=example CA");
        openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
        openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "2", "-extfile", "server.ext");
        try (ForkserverProcess server = ForkserverProcess.builder().handler(HttpHello.class)
                .option("--tls-cert", dir.resolve("server.pem").toString(), "--tls-key", dir.resolve("server.key").toString())
                .start()) {
            int port = server.address().getPort();
            String url = "https://localhost:" + port + "/";
            Curl answer = curl("-v", "--cacert", dir.resolve("ca.pem").toString(),
                    "--resolve", "localhost:" + port + ":127.0.0.1", url, url);
            List<String[]> answers = hellos(answer.stdout);
            assertEquals(2, answers.size(), answer.toString());
            assertEquals(answers.get(0)[0], answers.get(1)[0], "one process for the TLS connection: " + answer);
            assertTrue(answer.stderr.contains("SSL connection using TLSv1.3"), answer.stderr);
            server.awaitLog("end .*status=0", Duration.ofSeconds(60));
        }
    }

    private static void openssl(java.nio.file.Path dir, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new AssertionError(command + " failed: " + out);
        }
    }

    record Curl(int status, String stdout, String stderr) {
        @Override
        public String toString() {
            return "curl exit " + status + "\n" + stdout + "\n" + stderr;
        }
    }

    static Curl curl(String... arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("curl", "--silent", "--show-error", "--max-time", "60"));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        // stderr (verbose) is small enough for the pipe; read stdout to its end first
        String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(90, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("curl did not end");
        }
        return new Curl(process.exitValue(), stdout, stderr);
    }

    private static List<String[]> hellos(String body) {
        List<String[]> found = new ArrayList<>();
        Matcher matcher = HELLO.matcher(body);
        while (matcher.find()) {
            found.add(new String[] {matcher.group(1), matcher.group(2)});
        }
        return found;
    }
}
