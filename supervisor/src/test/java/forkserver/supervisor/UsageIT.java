package forkserver.supervisor;

import forkserver.testkit.Command;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
    void hugeDurationsAreRefusedWithTheirBound() {
        for (String[] option : new String[][] {{"--idle-timeout", "99999999999999h"}, {"--max-lifetime", "99999999999999h"},
            {"--shutdown-grace", "999999999999999999999s"}, {"--kill-grace", "8761h"}}) {
            assertOneLine(supervisor("--listen", "127.0.0.1:0", option[0], option[1]), Main.EXIT_USAGE,
                    option[0] + ": '" + option[1] + "' is too long: at most 8760h (a year)");
        }
        assertOneLine(supervisor("--listen", "127.0.0.1:0", "--rate", "5/99999999999999h"), Main.EXIT_USAGE,
                "--rate: '99999999999999h' is too long: at most 8760h (a year)");
    }

    @Test
    void oneAddressListedTwiceIsRefusedAndABadSettingNamed() {
        assertOneLine(supervisor("-l", "127.0.0.1:9", "-l", "[::1]:9", "-l", "127.0.0.1:9"), Main.EXIT_USAGE,
                "--listen 127.0.0.1:9 given twice");
        assertOneLine(supervisor("-l", "unix:/tmp/a.sock,mode=999"), Main.EXIT_USAGE,
                "--listen: mode= must be octal permissions from 0 to 0777 (e.g. 0660), got '999'");
    }

    @Test
    void aJavaHomeThatIsNotAJdk25IsSaidNotSilentlyReplaced(@TempDir Path dir) throws IOException {
        Path oldJdk = dir.resolve("jdk-17");
        Files.createDirectories(oldJdk.resolve("bin"));
        Files.writeString(oldJdk.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"17.0.12\"\n");
        Files.copy(Path.of("/bin/true"), oldJdk.resolve("bin/java"));
        Command.Result result = Command.run(List.of(Project.bin("supervisor"), "--version"), "", Duration.ofSeconds(60),
                java.util.Map.of("JAVA_HOME", oldJdk.toString()));
        assertEquals(0, result.exitValue(), result.stderr());
        assertTrue(result.stdout().matches("forkserver \\S+\n"), "it runs, on a JDK it found: " + result.stdout());
        assertEquals(1, result.stderrLines().size(), result.stderr());
        assertTrue(result.stderr().startsWith("forkserver: JAVA_HOME=" + oldJdk + " is ignored (not a JDK 25 or newer);"
                + " using /"), result.stderr());
    }

    @Test
    void badAdmissionOptions() {
        assertOneLine(supervisor("-C", "0"), Main.EXIT_USAGE, "--max-per-source must be at least 1");
        assertOneLine(supervisor("--rate", "fast"), Main.EXIT_USAGE, "--rate: expected N/DURATION such as 50/1s");
        assertOneLine(supervisor("--over-limit", "drop"), Main.EXIT_USAGE, "--over-limit must be 'wait' or 'reject', got 'drop'");
        assertOneLine(supervisor("--deny", "10.0.0.1/8"), Main.EXIT_USAGE, "--deny: '10.0.0.1/8' has host bits set");
        assertOneLine(supervisor("--log-format", "xml"), Main.EXIT_USAGE, "--log-format must be 'text' or 'json'");
        assertOneLine(supervisor("--user", "no-such-user-here"), Main.EXIT_USAGE, "--user: no such user 'no-such-user-here'");
        assertOneLine(supervisor("--ipv6-source-prefix", "129"), Main.EXIT_USAGE, "--ipv6-source-prefix must be from 1 to 128");
    }

    @Test
    void badProxyOptions() {
        assertOneLine(supervisor("--proxy-protocol"), Main.EXIT_USAGE, "--proxy-protocol needs --proxy-from BLOCK");
        assertOneLine(supervisor("--proxy-from", "127.0.0.1"), Main.EXIT_USAGE, "--proxy-from needs --proxy-protocol");
        assertOneLine(supervisor("--proxy-timeout", "1s"), Main.EXIT_USAGE, "--proxy-timeout needs --proxy-protocol");
        assertOneLine(supervisor("--proxy-protocol", "--proxy-from", "10.0.0.1/8"), Main.EXIT_USAGE,
                "--proxy-from: '10.0.0.1/8' has host bits set");
        assertOneLine(supervisor("--proxy-protocol", "--proxy-from", "haproxy.example"), Main.EXIT_USAGE,
                "--proxy-from: expected an address or block");
        assertOneLine(supervisor("--proxy-protocol", "--proxy-from", "127.0.0.1", "--proxy-timeout", "0"), Main.EXIT_USAGE,
                "--proxy-timeout must be longer than 0");
    }

    @Test
    void aBrokenRulesFileAtStartIsAUsageErrorNamingTheLine(@TempDir Path dir) throws IOException {
        Path rules = Files.writeString(dir.resolve("rules"), "# fine so far\nallow 127.0.0.1\nallow everyone\n");
        assertOneLine(supervisor("--listen", "127.0.0.1:0", "--rules", rules.toString()), Main.EXIT_USAGE,
                "rules line 3: expected an address or block such as 10.0.0.0/8 or 2001:db8::/32");
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
        for (String option : new String[] {"--listen", "--max-children", "--stdio", "--shutdown-grace", "--kill-grace",
            "--backlog", "--max-per-source", "--ipv6-source-prefix", "--rate", "--over-limit", "--reject-message", "--allow",
            "--deny", "--rules", "--default-policy", "--max-lifetime", "--idle-timeout", "--reuse-port", "--log-format",
            "--user", "--group", "--proxy-protocol", "--proxy-from", "--proxy-timeout", "--metrics", "--log-timestamps",
            "--spares"}) {
            assertTrue(Pattern.compile(Pattern.quote(option)).matcher(help.stdout()).find(), option + " in " + help.stdout());
        }
    }
}
