package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

import static forkserver.supervisor.PerSourceIT.FIRST;
import static forkserver.supervisor.PerSourceIT.SECOND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --allow}, {@code --deny}, {@code --rules FILE} and its reload on SIGHUP. */
class AccessRulesIT {

    /** A child that says which rule let it in, then echoes. */
    private static final String[] RULE_CAT = {"--stdio", "inout", "--", "/bin/sh", "-c", "echo \"rule=$RULE\"; exec cat"};

    @Test
    void aDeniedClientIsClosedAndAnAllowedOneGetsItsRulesVariables() {
        try (ServerProcess supervisor = ServerProcess.supervisor(with("--listen", "127.0.0.1:0",
                "--deny", "127.0.0.2", "--allow", "127.0.0.0/8 RULE=loopback", "--default-policy", "deny"))) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient denied = EchoClient.connect(address, SECOND)) {
                assertTrue(denied.atEndOfStream(), "closed without a child");
                supervisor.awaitMatch(Pattern.compile("reject remote=127\\.0\\.0\\.2:" + denied.localPort() + " .*reason=denied"));
            }
            try (EchoClient allowed = EchoClient.connect(address, FIRST)) {
                assertEquals("rule=loopback", allowed.readLine());
            }
            supervisor.awaitMatches(Pattern.compile("end pid="), 1);
            assertEquals(1, supervisor.matches(Pattern.compile("start pid=")).size(), "no child for the denied client");
        }
    }

    @Test
    void allowTakesItsVariablesAsSeparateWordsAsTheReadmeWritesThem() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0",
                "--allow", "127.0.0.2", "RULE=second", "ZONE=x", "--allow", "127.0.0.0/8", "RULE=loopback",
                "--", "/bin/sh", "-c", "echo \"rule=$RULE zone=$ZONE\"")) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient second = EchoClient.connect(address, SECOND)) {
                assertEquals("rule=second zone=x", second.readLine());
            }
            try (EchoClient first = EchoClient.connect(address, FIRST)) {
                assertEquals("rule=loopback zone=", first.readLine());
            }
        }
    }

    @Test
    void sighupWithoutRulesFileSaysThereIsNothingToReload() {
        try (ServerProcess supervisor = ServerProcess.supervisor(with("--listen", "127.0.0.1:0", "--allow", "127.0.0.1"))) {
            InetSocketAddress address = supervisor.awaitListening();
            supervisor.signal("HUP");
            supervisor.awaitMatch(Pattern.compile("reload-skipped reason=no-rules-file$"));
            assertEquals(java.util.List.of(), supervisor.matches(Pattern.compile("reloaded")), "no 'reloaded file=none'");
            try (EchoClient client = EchoClient.connect(address, FIRST)) {
                assertEquals("rule=", client.readLine(), "the command line's rules still apply");
            }
        }
    }

    @Test
    void sighupReloadsTheFileWithoutDroppingASessionAndABrokenFileKeepsTheRules(@TempDir Path dir) throws IOException {
        Path rules = Files.writeString(dir.resolve("rules"), "allow 127.0.0.1 RULE=one\ndeny 127.0.0.2\n");
        try (ServerProcess supervisor = ServerProcess.supervisor(with("--listen", "127.0.0.1:0", "--rules", rules.toString()))) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient session = EchoClient.connect(address, FIRST)) {
                assertEquals("rule=one", session.readLine());

                Files.writeString(rules, "# swapped\ndeny 127.0.0.1\nallow 127.0.0.2 RULE=two\n");
                supervisor.signal("HUP");
                supervisor.awaitMatch(Pattern.compile("reloaded file=\\S+rules rules=2"));

                assertEquals("still open", session.roundTrip("still open"), "the open session is not dropped");
                try (EchoClient nowDenied = EchoClient.connect(address, FIRST)) {
                    assertTrue(nowDenied.atEndOfStream());
                }
                try (EchoClient nowAllowed = EchoClient.connect(address, SECOND)) {
                    assertEquals("rule=two", nowAllowed.readLine());
                }

                Files.writeString(rules, "allow 127.0.0.1\nallow 127.0.0.300\n");
                supervisor.signal("HUP");
                supervisor.awaitMatch(Pattern.compile("reload-failed reason=\".*rules line 2: expected an IP address\" kept=previous-rules"));
                try (EchoClient stillAllowed = EchoClient.connect(address, SECOND)) {
                    assertEquals("rule=two", stillAllowed.readLine(), "the rules in force stay");
                }
                try (EchoClient stillDenied = EchoClient.connect(address, FIRST)) {
                    assertTrue(stillDenied.atEndOfStream());
                }
                assertEquals("and still", session.roundTrip("and still"));
            }
        }
    }

    /**
     * Reloads from what --rules should never be: a device without end, a FIFO nobody writes to, a
     * link to a file holding a secret. Each is one reload-failed line naming no byte of it, the
     * rules in force stay, no thread is left waiting, and a good file afterwards is read again.
     */
    @Test
    void reloadsFromADeviceAFifoOrASecretAreOneLineEachAndLeaveNothingBehind(@TempDir Path dir) throws Exception {
        Path good = Files.writeString(dir.resolve("good"), "allow 127.0.0.1 RULE=one\n");
        Path secret = Files.writeString(dir.resolve("secret"), "TOPSECRET-4242 root:$6$salt$hash\n");
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
        Path rules = Files.createSymbolicLink(dir.resolve("rules"), good);
        try (ServerProcess supervisor = ServerProcess.supervisor(with("--listen", "127.0.0.1:0", "--rules", rules.toString()))) {
            InetSocketAddress address = supervisor.awaitListening();
            int threads = threads(supervisor.pid());
            int failures = 0;
            for (Path target : List.of(Path.of("/dev/zero"), fifo, secret)) {
                Files.delete(rules);
                Files.createSymbolicLink(rules, target);
                supervisor.signal("HUP");
                failures++;
                supervisor.awaitMatches(Pattern.compile("reload-failed reason="), failures);
            }
            List<String> failed = supervisor.matches(Pattern.compile("reload-failed .*")).stream().map(m -> m.group()).toList();
            assertEquals(List.of(
                    "reload-failed reason=\"" + rules + ": not a regular file\" kept=previous-rules",
                    "reload-failed reason=\"" + rules + ": not a regular file\" kept=previous-rules",
                    "reload-failed reason=\"" + rules + " line 1: expected 'allow' or 'deny'\" kept=previous-rules"), failed);
            assertFalse(String.join("\n", supervisor.stderr()).contains("TOPSECRET"), "the secret reached the log");
            // Each signal's handler thread ends once its reload has: none is left waiting on the FIFO.
            Await.until("the supervisor back to " + threads + " threads", () -> threads(supervisor.pid()) == threads);
            try (EchoClient client = EchoClient.connect(address, FIRST)) {
                assertEquals("rule=one", client.readLine(), "the rules in force stay");
            }
            Files.delete(rules);
            Files.createSymbolicLink(rules, good);
            supervisor.signal("HUP");
            supervisor.awaitMatch(Pattern.compile("reloaded file=\\S+rules rules=1"));
        }
    }

    /** The supervisor's threads now ({@code Threads:} of /proc/PID/status). */
    private static int threads(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .filter(line -> line.startsWith("Threads:")).map(line -> Integer.parseInt(line.substring(8).strip()))
                    .findFirst().orElseThrow();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String[] with(String... options) {
        String[] all = new String[options.length + RULE_CAT.length];
        System.arraycopy(options, 0, all, 0, options.length);
        System.arraycopy(RULE_CAT, 0, all, options.length, RULE_CAT.length);
        return all;
    }
}
