package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.Command;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Limited;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code --child-user-range}: each connection's child, and each spare, runs as a uid of its own,
 * so that what one connection runs cannot reach the supervisor, another connection or the spare
 * waiting for the next client. Each attack is made for real by a child (or, against a spare, by
 * a process with exactly a child's credentials) and must be refused; without the range every one
 * of them succeeds.
 */
class ChildUsersIT {

    private static final String RANGE = "200100-200109";

    /**
     * A connection's program. The client's first line says its role: a victim says who it is and
     * waits; an attacker goes for a sibling ({@code attacker PID}) and for its parent, the
     * supervisor; a leftover starts a process that outlives it (one that ignores SIGTERM with
     * {@code stubborn}).
     */
    private static final String CHILD = """
            read -r role target
            case "$role" in
            victim)
                echo "uid=$(id -u) pid=$$"
                read -r line
                ;;
            attacker)
                self=$(awk '/^(NoNewPrivs|CapPrm|CapEff|CapAmb):/ {printf " %s%s", $1, $2}' /proc/self/status)
                if kill -STOP "$target" 2>/dev/null; then kill -CONT "$target"; sibling=stopped; else sibling=refused; fi
                if cat /proc/"$target"/environ >/dev/null 2>&1; then environ=read; else environ=refused; fi
                getfd=$(perl -e '$p = syscall(434, $ARGV[0] + 0, 0); if ($p < 0) { print "no-pidfd"; exit }
                    $f = syscall(438, $p, 0, 0); if ($f < 0) { print "refused"; exit }
                    open(my $h, ">&=", $f) or die; syswrite($h, "HIJACKED\\n"); print "taken"' "$target")
                if kill -KILL "$PPID" 2>/dev/null; then supervisor=killed; else supervisor=refused; fi
                echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)$self sibling=$sibling environ=$environ getfd=$getfd supervisor=$supervisor"
                ;;
            leftover|stubborn)
                if [ "$role" = stubborn ]; then trap '' TERM; fi
                sleep 300 </dev/null >/dev/null 2>&1 &
                echo "uid=$(id -u)"
                ;;
            esac
            """;

    private static final Pattern UID = Pattern.compile("^uid=(\\d+)");

    private static Path script(Path directory) throws IOException {
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path script = directory.resolve("child.sh");
        Files.writeString(script, CHILD);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private static int uid(String line) {
        Matcher m = UID.matcher(line);
        assertTrue(m.find(), line);
        return Integer.parseInt(m.group(1));
    }

    @Test
    void aChildCannotReachItsSiblingNorTheSupervisorAndHoldsNothing(@TempDir Path directory) throws IOException {
        assumeTrue(Limited.root(), "a uid per connection needs root (or CAP_SETUID)");
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--child-user-range", RANGE,
                "--", "/bin/sh", script(directory).toString());
             EchoClient victim = EchoClient.connect(supervisor.awaitListening());
             EchoClient attacker = EchoClient.connect(supervisor.awaitListening())) {
            String who = victim.roundTrip("victim");
            int victimUid = uid(who);
            long victimPid = Long.parseLong(who.substring(who.indexOf("pid=") + 4));
            String report = attacker.roundTrip("attacker " + victimPid);
            int attackerUid = uid(report);
            assertTrue(inRange(victimUid) && inRange(attackerUid), who + " / " + report);
            assertNotEquals(victimUid, attackerUid, "two live connections share a uid");
            assertEquals("uid=" + attackerUid + " gid=" + attackerUid + " groups=" + attackerUid
                    + " CapPrm:0000000000000000 CapEff:0000000000000000 CapAmb:0000000000000000 NoNewPrivs:1"
                    + " sibling=refused environ=refused getfd=refused supervisor=refused", report);
            assertTrue(supervisor.isAlive());
            // The victim's client saw nothing but its own session.
            victim.send("bye");
            assertEquals("", victim.readToEnd());
        }
    }

    private static boolean inRange(int uid) {
        return uid >= 200100 && uid <= 200109;
    }

    /** The real uid of process {@code pid}, from its status. */
    private static int uidOf(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.substring(4).trim().split("\\s+")[0]);
            }
        }
        throw new AssertionError("no Uid: line for " + pid);
    }

    private static final Pattern SPARE_READY = Pattern.compile("spare-ready pid=(\\d+)");

    /**
     * A spare has a uid of its own from its start: a process with the credentials of another
     * connection's child can neither stop it nor take its hand-off channel (fd 0) with
     * pidfd_getfd, and the next client is served by it, untouched.
     */
    @Test
    void aSpareIsOutOfReachOfAnotherConnectionsUid() throws IOException {
        assumeTrue(Limited.root(), "a uid per connection needs root (or CAP_SETUID)");
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--child-user-range", RANGE,
                "--spares", "1")) {
            java.net.InetSocketAddress address = supervisor.awaitListening();
            supervisor.awaitMatch(SPARE_READY);
            long spare;
            try (EchoClient first = EchoClient.connect(address)) {
                assertEquals("hello", first.roundTrip("hello"));
                long child = supervisor.awaitChildPidOf(first.localPort());
                int childUid = uidOf(child);
                spare = Long.parseLong(supervisor.awaitMatches(SPARE_READY, 2).get(1).group(1));
                int spareUid = uidOf(spare);
                assertTrue(inRange(childUid) && inRange(spareUid), childUid + " " + spareUid);
                assertNotEquals(childUid, spareUid);
                // As the child: its uid and gid, no groups, no capabilities, no new privileges.
                Command.Result attack = Command.run(new ArrayList<>(List.of("setpriv", "--reuid=" + childUid,
                        "--regid=" + childUid, "--clear-groups", "--inh-caps=-all", "--no-new-privs", "--", "/bin/sh", "-c",
                        """
                        if kill -STOP "$1" 2>/dev/null; then echo stopped; else echo stop-refused; fi
                        perl -e '$p = syscall(434, $ARGV[0] + 0, 0); if ($p < 0) { print "no-pidfd\\n"; exit }
                            $f = syscall(438, $p, 0, 0); print $f < 0 ? "getfd-refused\\n" : "channel-taken\\n"' "$1"
                        """, "attack", Long.toString(spare))), "", Duration.ofSeconds(30));
                assertEquals(List.of("stop-refused", "getfd-refused"), attack.stdout().lines().toList(), attack.stderr());
            }
            try (EchoClient next = EchoClient.connect(address)) {
                assertEquals("still mine", next.roundTrip("still mine"));
                supervisor.awaitMatch(Pattern.compile("start pid=" + spare + " .*via=spare"));
            }
        }
    }
    /**
     * A range of one uid: a child that leaves a process running keeps the uid from the next
     * connection, which is refused (reason child-user-range, told to the client) until that
     * process is gone; then the uid serves again.
     */
    @Test
    void aUidIsNotGivenAgainWhileALeftoverOfItsHolderLivesUnboxed(@TempDir Path directory) throws IOException {
        assumeTrue(Limited.root(), "a uid per connection needs root (or CAP_SETUID)");
        assertUidWaitsForLeftover(directory, "leftover", "--leftovers", "keep");
    }

    /** Boxed, a leftover that ignores SIGTERM holds the uid through the kill grace, until SIGKILL empties its box. */
    @Test
    void aUidIsNotGivenAgainWhileALeftoverOfItsHolderLivesInItsBox(@TempDir Path directory) throws IOException {
        assumeTrue(Limited.root(), "a uid per connection needs root (or CAP_SETUID)");
        // A grace far longer than the test's steps take on a loaded machine: the uid must still be
        // held when the second client comes; the test ends the wait itself by killing the leftover.
        assertUidWaitsForLeftover(directory, "stubborn", "--leftovers", "kill", "--kill-grace", "120s");
    }

    private static void assertUidWaitsForLeftover(Path directory, String role, String... options) throws IOException {
        int only = 200120;
        List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0", "--child-user-range", only + "-" + only,
                "--over-limit", "reject"));
        args.addAll(List.of(options));
        args.addAll(List.of("--", "/bin/sh", script(directory).toString()));
        try (ServerProcess supervisor = ServerProcess.supervisor(args.toArray(String[]::new))) {
            java.net.InetSocketAddress address = supervisor.awaitListening();
            supervisor.awaitMatch(Pattern.compile("limit-too-low resource=uids source=--child-user-range limit=1 needed=40 "));
            try (EchoClient first = EchoClient.connect(address)) {
                assertEquals("uid=" + only, first.roundTrip(role));
                assertEquals("", first.readToEnd()); // the child has closed the connection; its leftover runs on
            }
            // End of file comes as the child exits, a moment before it is reaped: until then it
            // is still a process of the uid (seen: the child and its leftover, counted as two).
            Await.until("the child of uid " + only + " to be reaped, its leftover alone left",
                    () -> processesOf(only).size() == 1);
            List<Long> leftovers = processesOf(only);
            assertEquals(1, leftovers.size(), leftovers.toString());
            try (EchoClient second = EchoClient.connect(address)) {
                second.send(role);
                assertEquals("refused: child-user-range", second.readLine());
            }
            supervisor.awaitMatch(Pattern.compile("reject remote=\\S+ local=\\S+ reason=child-user-range"));
            ProcessHandle.of(leftovers.getFirst()).ifPresent(ProcessHandle::destroyForcibly);
            Await.until("the leftover of uid " + only + " to be gone", () -> processesOf(only).isEmpty());
            Await.until("uid " + only + " to serve again", () -> {
                try (EchoClient again = EchoClient.connect(address)) {
                    String line = again.roundTrip(role);
                    return line.equals("uid=" + only);
                }
            });
        } finally {
            // The last session above started a leftover too: gone before the next test counts the uid's processes.
            processesOf(only).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
            Await.until("no process of uid " + only + " left", () -> processesOf(only).isEmpty());
        }
    }

    /** The processes running as {@code uid} now. */
    private static List<Long> processesOf(int uid) {
        return ProcessHandle.allProcesses().map(ProcessHandle::pid).filter(pid -> {
            try {
                return uidOf(pid) == uid;
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }).toList();
    }
    /**
     * Started as an unprivileged user with CAP_SETUID, CAP_SETGID and CAP_KILL (what systemd's
     * User= and AmbientCapabilities= give), the supervisor gives its children their uids and
     * none of its capabilities; without those capabilities, or with a range holding its own uid,
     * it refuses to start in one line.
     */
    @Test
    void anUnprivilegedSupervisorNeedsTheCapabilitiesAndARangeWithoutItsUid(@TempDir Path directory) throws IOException {
        assumeTrue(Limited.root(), "starting the supervisor as another user needs root");
        String script = script(directory).toString();
        List<String> capable = new ArrayList<>(List.of("setpriv", "--reuid=" + Limited.UID, "--regid=" + Limited.UID,
                "--clear-groups", "--inh-caps=+kill,+setuid,+setgid", "--ambient-caps=+kill,+setuid,+setgid", "--",
                Project.bin("supervisor"), "--listen", "127.0.0.1:0", "--child-user-range", RANGE, "--", "/bin/sh", script));
        try (ServerProcess supervisor = ServerProcess.start(capable, Map.of());
             EchoClient victim = EchoClient.connect(supervisor.awaitListening());
             EchoClient attacker = EchoClient.connect(supervisor.awaitListening())) {
            String who = victim.roundTrip("victim");
            String report = attacker.roundTrip("attacker " + who.substring(who.indexOf("pid=") + 4));
            assertTrue(report.contains(" CapPrm:0000000000000000 CapEff:0000000000000000 CapAmb:0000000000000000"
                    + " NoNewPrivs:1 sibling=refused environ=refused getfd=refused supervisor=refused"), report);
            assertNotEquals(uid(who), uid(report));
            assertTrue(inRange(uid(who)) && inRange(uid(report)), who + " / " + report);
        }
        Command.Result incapable = Command.run(new ArrayList<>(Limited.asUser(List.of(Project.bin("supervisor"),
                "--listen", "127.0.0.1:0", "--child-user-range", RANGE, "--", "/bin/sh", script))), "", Duration.ofSeconds(60));
        assertEquals(Main.EXIT_USAGE, incapable.exitValue(), incapable.stderr());
        assertEquals(List.of("forkserver: --child-user-range: the supervisor (uid " + Limited.UID + ") lacks CAP_KILL,"
                + " CAP_SETGID, CAP_SETUID to start children as other users and stop them: run it as root, or give it"
                + " those capabilities (see --help)"), incapable.stderrLines());
        String own = Limited.UID + "-" + (Limited.UID + 9);
        Command.Result ownUid = Command.run(new ArrayList<>(Limited.asUser(List.of(Project.bin("supervisor"),
                "--listen", "127.0.0.1:0", "--child-user-range", own, "--", "/bin/sh", script))), "", Duration.ofSeconds(60));
        assertEquals(List.of("forkserver: --child-user-range: the range " + own + " includes uid " + Limited.UID
                + ", the supervisor's own (see --help)"), ownUid.stderrLines());
    }
}