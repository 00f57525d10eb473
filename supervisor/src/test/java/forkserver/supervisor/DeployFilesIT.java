package forkserver.supervisor;

import forkserver.testkit.Command;
import forkserver.testkit.Deploy;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The unit files in deploy/systemd pass systemd's own checker. */
class DeployFilesIT {

    private static final String SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";
    private static final List<String> UNITS = List.of(
            "forkserver.socket", "forkserver.service", "forkserver-worker.socket", "forkserver-worker@.service");

    /**
     * {@code systemd-analyze verify} on copies whose paths point at this project (it checks that
     * ExecStart= is executable). Unknown or misspelt settings are only warnings to it, with exit
     * status 0: any output at all fails the test.
     */
    @Test
    void unitFilesPassSystemdAnalyzeVerify(@TempDir Path directory) throws IOException {
        Command.Result version = Files.isExecutable(Path.of(SYSTEMD_ANALYZE))
                ? Command.run(List.of(SYSTEMD_ANALYZE, "--version"), "", Duration.ofSeconds(60)) : null;
        assumeTrue(version != null && version.exitValue() == 0,
                "systemd-analyze cannot run on this machine (apt-get install systemd): "
                        + (version == null ? "not installed" : version.stderr()));
        List<String> command = new ArrayList<>(List.of(SYSTEMD_ANALYZE, "verify"));
        for (String unit : UNITS) {
            Path copy = directory.resolve(unit);
            Files.writeString(copy, Deploy.localized("systemd/" + unit));
            command.add(copy.toString());
        }
        Command.Result verify = Command.run(command, "", Duration.ofSeconds(120));
        assertFalse(verify.killedByWatchdog());
        assertEquals(0, verify.exitValue(), verify.stderr());
        assertEquals("", verify.stderr() + verify.stdout(), "no warning");
    }

    @Test
    void theSupervisorUnitPassesNoListenAndTheWorkerUnitKeepsStderrOffTheSocket() {
        String execStart = Deploy.localized("systemd/forkserver.service").lines()
                .filter(line -> line.startsWith("ExecStart=")).findFirst().orElseThrow();
        assertFalse(execStart.contains("--listen") || execStart.contains(" -l "),
                "the socket comes from forkserver.socket; --listen would be a usage error: " + execStart);
        assertTrue(Deploy.localized("systemd/forkserver-worker@.service").contains("\nStandardError=journal\n"));
        String supervisor = Deploy.localized("systemd/forkserver.service");
        for (String setting : List.of("Type=notify", "NotifyAccess=main", "WatchdogSec=30s", "SyslogIdentifier=forkserver",
                "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure")) {
            assertTrue(supervisor.contains("\n" + setting + "\n"), setting + " in forkserver.service");
        }
        assertTrue(Deploy.localized("systemd/forkserver-worker.socket").contains("\nAccept=yes\n"));
    }

    /** The unit's ExecStart= options (its hardening profile) are ones the supervisor takes and serves with. */
    @Test
    void theSupervisorUnitsOptionsServe() {
        String execStart = Deploy.localized("systemd/forkserver.service").lines()
                .filter(line -> line.startsWith("ExecStart=")).findFirst().orElseThrow();
        List<String> words = List.of(execStart.substring("ExecStart=".length()).trim().split("\\s+"));
        assertTrue(words.containsAll(List.of("--max-per-source", "--idle-timeout", "--max-lifetime", "--child-tasks-max",
                "--child-memory-max")), execStart);
        // Its boxes are made in the service's cgroup, which the unit must delegate and leave writable.
        String unit = Deploy.localized("systemd/forkserver.service");
        assertTrue(unit.contains("\nDelegate=yes\n") && !unit.contains("\nProtectControlGroups=yes\n"), unit);
        List<String> command = new ArrayList<>(List.of(Project.bin("supervisor"), "--listen", "127.0.0.1:0"));
        command.addAll(words.subList(1, words.size()));
        try (ServerProcess supervisor = ServerProcess.start(command, java.util.Map.of());
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("served", client.roundTrip("served"));
            client.send("done");
            assertEquals("bye!", client.readLine());
            // As root here: the worker served in its box, held to the unit's limits.
            supervisor.awaitMatch(java.util.regex.Pattern.compile("connections are boxed: .*each holds memory=192M tasks=48"));
            supervisor.awaitMatch(java.util.regex.Pattern.compile("end pid=\\d+ status=0 duration=\\S+ cpu=\\S+ memory-peak="));
        }
    }

    /** What the hardening is worth by systemd's own measure: "OK" or better (lower is better). */
    static final double MAX_EXPOSURE = 2.0;

    @Test
    void theSupervisorUnitIsHardenedToSystemdsOkOrBetter(@TempDir Path directory) throws IOException {
        assumeSystemdAnalyze();
        for (String unit : List.of("forkserver.service", "forkserver-worker@.service")) {
            Path copy = directory.resolve(unit);
            Files.writeString(copy, Deploy.localized("systemd/" + unit));
            Command.Result security = Command.run(List.of(SYSTEMD_ANALYZE, "security", "--offline=yes", copy.toString()),
                    "", Duration.ofSeconds(120));
            Matcher level = Pattern.compile("Overall exposure level for \\S+: (\\d+\\.\\d+) (\\S+)")
                    .matcher(security.stdout() + security.stderr());
            assertTrue(level.find(), security.stdout() + security.stderr());
            double exposure = Double.parseDouble(level.group(1));
            assertTrue(exposure <= MAX_EXPOSURE, unit + ": exposure " + exposure + " " + level.group(2)
                    + " (at most " + MAX_EXPOSURE + "): " + security.stdout());
        }
        String supervisor = Deploy.localized("systemd/forkserver.service");
        for (String setting : List.of("SystemCallArchitectures=native", "ProtectProc=invisible", "NoNewPrivileges=yes")) {
            assertTrue(supervisor.contains("\n" + setting + "\n"), setting + " in forkserver.service");
        }
        assertTrue(supervisor.lines().anyMatch(line -> line.startsWith("SystemCallFilter=~") && line.contains("@debug")),
                "ptrace and pidfd_getfd filtered out");
    }

    /**
     * The unit's SystemCallFilter= lets the service run: the supervisor (with a spare, a spawned
     * worker, the metrics endpoint and a SIGHUP) is run under strace, and every system call that
     * it, bin/supervisor's bash, the workers or their JVMs made must be in the set the unit's
     * filter lines allow, as systemd-analyze expands them. A call added to the code path that the
     * filter would refuse (EPERM under the unit) fails here.
     */
    @Test
    void everySystemCallTheServiceMakesIsInTheUnitsFilter(@TempDir Path directory) throws Exception {
        assumeSystemdAnalyze();
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/strace")), "strace is not installed (apt-get install strace)");
        Set<String> allowed = allowedSystemCalls(Deploy.localized("systemd/forkserver.service"));
        assertTrue(allowed.contains("read") && !allowed.contains("ptrace") && !allowed.contains("pidfd_getfd"), "" + allowed);

        Path trace = directory.resolve("trace");
        Path rules = directory.resolve("rules");
        Files.writeString(rules, "allow 127.0.0.0/8\n");
        List<String> command = new ArrayList<>(List.of("/usr/bin/strace", "-f", "-qq", "-o", trace.toString(),
                Project.bin("supervisor"), "--listen", "127.0.0.1:0", "--spares", "1", "--metrics", "127.0.0.1:0",
                "--rules", rules.toString()));
        try (ServerProcess supervisor = ServerProcess.start(command, java.util.Map.of())) {
            InetSocketAddress address = supervisor.awaitListening();
            Matcher metrics = supervisor.awaitMatch(Pattern.compile("metrics on 127\\.0\\.0\\.1:(\\d+)"));
            supervisor.awaitMatch(Pattern.compile("spare-ready "));
            // Two at once: one to the spare, one spawned.
            try (EchoClient first = EchoClient.connect(address); EchoClient second = EchoClient.connect(address)) {
                assertEquals("one", first.roundTrip("one"));
                assertEquals("two", second.roundTrip("two"));
                first.send("done");
                second.send("done");
                assertEquals("bye!", first.readLine());
                assertEquals("bye!", second.readLine());
            }
            supervisor.awaitMatches(Pattern.compile("end pid="), 2);
            HttpResponse<String> scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + metrics.group(1) + "/metrics")).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, scrape.statusCode());
            // strace's child is the supervisor (bin/supervisor execs its JVM): signals go to it.
            long jvm = ProcessHandle.of(supervisor.pid()).orElseThrow().children().findFirst().orElseThrow().pid();
            ServerProcess.signal(jvm, "HUP");
            supervisor.awaitMatch(Pattern.compile("reloaded "));
            ServerProcess.signal(jvm, "TERM");
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(60)));
        }
        Pattern call = Pattern.compile("^\\d+\\s+(?:<\\.\\.\\. )?([a-z0-9_]+)[( ]");
        Set<String> used = new TreeSet<>();
        for (String line : Files.readAllLines(trace)) {
            Matcher m = call.matcher(line);
            if (m.find()) {
                used.add(m.group(1));
            }
        }
        assertTrue(used.contains("accept4") || used.contains("accept"), "the trace has the supervisor's calls: " + used);
        Set<String> refused = new TreeSet<>(used);
        refused.removeAll(allowed);
        if (!refused.isEmpty()) {
            fail("system calls the unit's SystemCallFilter= would refuse (EPERM): " + refused + "; all used: " + used);
        }
    }

    /** The calls a unit's SystemCallFilter= lines allow: the first an allow list, '~' lines taken away. */
    private static Set<String> allowedSystemCalls(String unit) {
        Set<String> allowed = new HashSet<>();
        boolean first = true;
        for (String line : unit.lines().filter(l -> l.startsWith("SystemCallFilter=")).toList()) {
            String value = line.substring("SystemCallFilter=".length());
            boolean deny = value.startsWith("~");
            Set<String> names = new HashSet<>();
            for (String word : (deny ? value.substring(1) : value).trim().split("\\s+")) {
                names.addAll(expand(word, new HashSet<>()));
            }
            if (deny) {
                allowed.removeAll(names);
            } else {
                assertTrue(first, "an allow list after a deny list: " + line);
                allowed.addAll(names);
            }
            first = false;
        }
        assertFalse(allowed.isEmpty(), "no SystemCallFilter= allow list in the unit");
        return allowed;
    }

    /** A system call's name, or a @group expanded by systemd-analyze syscall-filter, recursively. */
    private static Set<String> expand(String word, Set<String> seen) {
        if (!word.startsWith("@")) {
            return Set.of(word);
        }
        Set<String> names = new HashSet<>();
        if (!seen.add(word)) {
            return names;
        }
        Command.Result listing = Command.run(List.of(SYSTEMD_ANALYZE, "syscall-filter", word), "", Duration.ofSeconds(60));
        assertEquals(0, listing.exitValue(), listing.stderr());
        listing.stdout().lines().skip(1).map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#"))
                .forEach(l -> names.addAll(expand(l, seen)));
        return names;
    }

    private static void assumeSystemdAnalyze() {
        Command.Result version = Files.isExecutable(Path.of(SYSTEMD_ANALYZE))
                ? Command.run(List.of(SYSTEMD_ANALYZE, "--version"), "", Duration.ofSeconds(60)) : null;
        assumeTrue(version != null && version.exitValue() == 0,
                "systemd-analyze cannot run on this machine (apt-get install systemd): "
                        + (version == null ? "not installed" : version.stderr()));
    }
}
