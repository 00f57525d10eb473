package forkserver.supervisor;

import forkserver.supervisor.admit.AccessRules;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.admit.AdmissionPolicy;
import forkserver.supervisor.admit.Rejector;
import forkserver.supervisor.admit.SourceLimits;
import forkserver.supervisor.spawn.StdioMode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The edge, called as bin/supervisor calls it but in this JVM: {@link Main#run} with a stream of
 * the test's own (nothing may reach System.err), and the {@link Config} it builds. Bad input is one
 * line and exit status 2, before anything is bound or started.
 */
class MainTest {

    private static Result run(String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return new Result(status, bytes.toString(StandardCharsets.UTF_8).lines().toList());
    }

    private record Result(int status, List<String> lines) {
    }

    @Test
    void anUnknownOptionIsOneLineAndStatus2() {
        Result result = run("--no-such-option", "--", "cat");
        assertEquals(Main.EXIT_USAGE, result.status());
        assertEquals(1, result.lines().size(), result.lines().toString());
        assertTrue(result.lines().getFirst().startsWith("forkserver: Unknown option: '--no-such-option'"), result.lines().toString());
    }

    @Test
    void aBadValueNamesItsOptionOnTheTestsStream() {
        Result result = run("--listen", "127.0.0.1:0", "--max-children", "0", "--", "cat");
        assertEquals(Main.EXIT_USAGE, result.status());
        assertEquals(List.of("forkserver: --max-children must be at least 1, got 0 (see --help)"), result.lines());
        Result duration = run("--listen", "127.0.0.1:0", "--max-lifetime", "soon", "--", "cat");
        assertEquals(Main.EXIT_USAGE, duration.status());
        assertTrue(duration.lines().getFirst().contains("--max-lifetime"), duration.lines().toString());
    }

    @Test
    void aBadChildUserRangeIsOneLine() {
        assertEquals(List.of("forkserver: --child-user-range: FIRST 10 is above LAST 5 (see --help)"),
                run("--listen", "127.0.0.1:0", "--child-user-range", "10-5", "--", "cat").lines());
        assertEquals(List.of("forkserver: --child-user-range: the range 0-9 includes uid 0 (root) (see --help)"),
                run("--listen", "127.0.0.1:0", "--child-user-range", "0-9", "--", "cat").lines());
        Result withUser = run("--listen", "127.0.0.1:0", "--child-user-range", "200000-200009", "--user", "nobody",
                "--", "cat");
        assertEquals(Main.EXIT_USAGE, withUser.status());
        assertEquals(1, withUser.lines().size(), withUser.lines().toString());
        assertTrue(withUser.lines().getFirst().startsWith("forkserver: --child-user-range cannot go with --user"),
                withUser.lines().toString());
    }

    @Test
    void theConfigChecksWhatNoOptionParserCan() {
        InetSocketAddress any = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        AdmissionPolicy admission = new AdmissionPolicy(SourceLimits.UNLIMITED, AdmissionPolicy.DEFAULT_IPV6_SOURCE_PREFIX,
                null, Admission.OverLimit.WAIT, Rejector.DEFAULT_MESSAGE, List.of(), null, AccessRules.Action.ALLOW);
        Config config = new Config(any, 16, List.of("cat"), StdioMode.INOUT, 40, Duration.ZERO, Duration.ofSeconds(1),
                admission, null, false, 0, List.of(), null, null);
        assertEquals(List.of("cat"), config.command());
        IllegalArgumentException spares = assertThrows(IllegalArgumentException.class, () -> new Config(any, 16,
                List.of("cat"), StdioMode.INOUT, 40, Duration.ZERO, Duration.ofSeconds(1), admission, null, false, 2,
                List.of("worker"), null, null));
        assertEquals("--spares works with --stdio in only (forkserver's worker reads fd 0)", spares.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Config(any, 16, List.of(), StdioMode.IN, 40,
                Duration.ZERO, Duration.ofSeconds(1), admission, null, false, 0, List.of(), null, null));
        assertThrows(IllegalArgumentException.class, () -> new Config(any, 0, List.of("cat"), StdioMode.IN, 40,
                Duration.ZERO, Duration.ofSeconds(1), admission, null, false, 0, List.of(), null, null));
    }
}
