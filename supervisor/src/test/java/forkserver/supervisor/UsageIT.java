package forkserver.supervisor;

import forkserver.testkit.Command;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input: one clear line on stderr and a non-zero exit, before anything is served. */
class UsageIT {

    private static Command.Result supervisor(String... args) {
        List<String> command = new ArrayList<>();
        command.add(Project.bin("supervisor"));
        command.addAll(List.of(args));
        Command.Result result = Command.run(command, "", Duration.ofSeconds(60));
        assertFalse(result.killedByWatchdog(), "the supervisor did not exit: " + result.stderr());
        return result;
    }

    private static void assertOneLine(Command.Result result, int exit, String expected) {
        assertEquals(exit, result.exitValue(), result.stderr());
        assertEquals(1, result.stderrLines().size(), "one line: " + result.stderr());
        assertTrue(result.stderr().startsWith("forkserver: "), result.stderr());
        assertTrue(result.stderr().contains(expected), "'" + expected + "' in " + result.stderr());
    }

    @Test
    void badAddress() {
        assertOneLine(supervisor("--listen", "nonsense"), Main.EXIT_USAGE, "expected HOST:PORT");
        assertOneLine(supervisor("--listen", "127.0.0.1:99999"), Main.EXIT_USAGE, "port must be a number from 0 to 65535");
        assertOneLine(supervisor("--listen", "::1:9090"), Main.EXIT_USAGE, "an IPv6 address needs brackets");
    }

    @Test
    void unknownOption() {
        assertOneLine(supervisor("--bogus"), Main.EXIT_USAGE, "Unknown option: '--bogus'");
    }

    @Test
    void badNumbersAndDurations() {
        assertOneLine(supervisor("-c", "0"), Main.EXIT_USAGE, "--max-children must be at least 1");
        assertOneLine(supervisor("--shutdown-grace", "soon"), Main.EXIT_USAGE, "--shutdown-grace: expected a duration");
        assertOneLine(supervisor("--stdio", "out"), Main.EXIT_USAGE, "--stdio must be 'in' or 'inout'");
    }

    @Test
    void commandNotFound() {
        assertOneLine(supervisor("--", "no-such-program-here"), Main.EXIT_USAGE,
                "command not found or not executable: no-such-program-here");
    }

    @Test
    void portInUse() {
        try (ServerProcess first = ServerProcess.supervisor("--listen", "127.0.0.1:0")) {
            int port = first.awaitListening().getPort();
            assertOneLine(supervisor("--listen", "127.0.0.1:" + port), Main.EXIT_FAILURE,
                    "cannot listen on 127.0.0.1:" + port + ": Address already in use");
        }
    }

    @Test
    void helpListsTheOptions() {
        Command.Result help = supervisor("--help");
        assertEquals(0, help.exitValue());
        for (String option : new String[] {"--listen", "--max-children", "--stdio", "--shutdown-grace", "--kill-grace"}) {
            assertTrue(Pattern.compile(Pattern.quote(option)).matcher(help.stdout()).find(), option + " in " + help.stdout());
        }
    }
}
