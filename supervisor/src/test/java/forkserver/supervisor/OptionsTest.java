package forkserver.supervisor;

import forkserver.supervisor.admit.AccessRules;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.admit.SourceLimits;
import forkserver.supervisor.listen.ListenAddress;
import forkserver.supervisor.spawn.StdioMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The command line's meaning without running anything: options parsed by picocli, then a {@link Config}. */
class OptionsTest {

    private static Options parse(String... args) {
        Options options = new Options();
        new CommandLine(options).setStopAtPositional(true).setOverwrittenOptionsAllowed(true).parseArgs(args);
        return options;
    }

    private static Config config(String... args) {
        return parse(args).config(new HashMap<>(Map.of("PATH", "/usr/bin:/bin")), List.of());
    }

    @Test
    void theDefaultsAreTheReferencesDefaults() {
        Config config = config("--", "cat");
        assertEquals(List.of(new ListenAddress.Tcp(new InetSocketAddress("127.0.0.1", 9090), null)), config.listen());
        assertEquals(40, config.maxChildren());
        assertEquals(StdioMode.INOUT, config.stdio(), "a COMMAND reads and writes the connection");
        assertEquals(Duration.ofSeconds(10), config.shutdownGrace());
        assertEquals(Duration.ofSeconds(5), config.killGrace());
        assertEquals(SourceLimits.UNLIMITED, config.admission().maxPerSource());
        assertEquals(Admission.OverLimit.WAIT, config.admission().overLimit());
        assertEquals(AccessRules.Action.ALLOW, config.admission().defaultAction());
        assertNull(config.maxLifetime());
        assertNull(config.proxy());
        assertNull(config.metrics());
        assertEquals(List.of("/usr/bin/cat"), config.command(), "COMMAND resolved on PATH");
    }

    @Test
    void tlsWithAUnixListenerIsABadValue(@TempDir Path dir) throws IOException {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "not read before the check\n");
        Path key = Files.writeString(dir.resolve("key.pem"), "not read before the check\n");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> config("-l", "127.0.0.1:0",
                "-l", "unix:" + dir.resolve("s.sock"), "--tls-cert", cert.toString(), "--tls-key", key.toString()));
        assertEquals("TLS (--tls-cert or FORKSERVER_TLS_CERT) serves TCP listeners only, and unix:" + dir.resolve("s.sock")
                + " is a UNIX-domain socket: serve it from a supervisor without TLS", bad.getMessage());
    }

    @Test
    void eachOptionReachesItsValue() {
        Config config = config("-l", "[::1]:0", "-c", "3", "-C", "2", "--shutdown-grace", "2s", "--kill-grace", "500ms",
                "--max-lifetime", "1h", "--backlog", "7", "--over-limit", "reject", "--allow", "10.0.0.0/8", "ZONE=in",
                "--deny", "0.0.0.0/0", "--default-policy", "deny", "--proxy-protocol", "--proxy-from", "127.0.0.1",
                "--metrics", "127.0.0.1:0", "--", "cat", "-u");
        assertEquals(List.of(new ListenAddress.Tcp(new InetSocketAddress("::1", 0), null)), config.listen());
        assertEquals(3, config.maxChildren());
        assertEquals(2, config.admission().maxPerSource());
        assertEquals(Duration.ofSeconds(2), config.shutdownGrace());
        assertEquals(Duration.ofMillis(500), config.killGrace());
        assertEquals(Duration.ofHours(1), config.maxLifetime());
        assertEquals(7, config.backlog());
        assertEquals(Admission.OverLimit.REJECT, config.admission().overLimit());
        assertEquals(2, config.admission().commandLineRules().size(), "--allow then --deny, in order");
        assertEquals(AccessRules.Action.DENY, config.admission().defaultAction());
        assertEquals(1, config.proxy().trusted().size());
        assertEquals(new InetSocketAddress("127.0.0.1", 0), config.metrics());
        assertEquals(List.of("/usr/bin/cat", "-u"), config.command());
    }

    @Test
    void aBadValueNamesItsOption() {
        assertEquals("--kill-grace: expected a duration such as 500ms, 10s, 2m or 1h, got 'soon'",
                assertThrows(IllegalArgumentException.class, () -> config("--kill-grace", "soon", "--", "cat")).getMessage());
        assertEquals("--proxy-from needs --proxy-protocol",
                assertThrows(IllegalArgumentException.class, () -> config("--proxy-from", "10.0.0.1", "--", "cat")).getMessage());
        assertEquals("--over-limit must be 'wait' or 'reject', got 'later'",
                assertThrows(IllegalArgumentException.class, () -> config("--over-limit", "later", "--", "cat")).getMessage());
    }

    @Test
    void theIdleTimeoutIsPassedToTheWorkerInMilliseconds() {
        Map<String, String> environment = parse("--idle-timeout", "2m").childEnvironment(Map.of("PATH", "/bin"));
        assertEquals(Map.of("PATH", "/bin", "FORKSERVER_IDLE_TIMEOUT", "120000ms"), environment);
    }
}
