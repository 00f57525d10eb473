package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.ClientLoops;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGUSR2: a successor started from the same command line takes over the listening socket while
 * clients keep connecting, the sessions in progress stay with the old supervisor until they end,
 * and systemd (a stand-in) hears MAINPID= of the successor and its READY=1. The supervisor runs
 * behind a launcher script of the test's (FORKSERVER_LAUNCHER), which the test rewrites to make a
 * successor fail.
 */
class UpgradeIT {

    private static final Pattern UPGRADE = Pattern.compile("upgrade pid=(\\d+) took=\\S+ children=(\\d+)");
    private static final Pattern HANDED_OVER = Pattern.compile("listening on \\S+ \\(handed over by pid (\\d+)\\)");

    @Test
    void clientsConnectingThroughTheHandOverAreAllServedAndHeldSessionsKeepTheirProcess(@TempDir Path directory)
            throws Exception {
        Path launcher = launcher(directory, "");
        int metricsPort = freePort();
        try (SystemdStandIn systemd = SystemdStandIn.abstractName();
             ServerProcess old = ServerProcess.start(List.of(launcher.toString(), "--listen", "127.0.0.1:0",
                     "--metrics", "127.0.0.1:" + metricsPort, "--", "cat"),
                     environment(launcher, systemd.environment("WATCHDOG_USEC", "2000000")))) {
            InetSocketAddress address = old.awaitListening();
            systemd.await(0, "READY=1");
            List<EchoClient> held = new ArrayList<>();
            try (ClientLoops loops = new ClientLoops(List.of(new ClientLoops.Target(address, null), new ClientLoops.Target(address, null)))) {
                for (int i = 0; i < 3; i++) {
                    EchoClient client = EchoClient.connect(address);
                    held.add(client);
                    assertEquals("held " + i, client.roundTrip("held " + i));
                }
                loops.awaitSessions(100);

                old.signal("USR2");
                Matcher upgrade = old.awaitMatch(UPGRADE);
                long successor = Long.parseLong(upgrade.group(1));
                old.descendants(); // close() kills the successor too, once it is no child of the old one
                assertEquals(Long.toString(old.pid()), old.awaitMatch(HANDED_OVER).group(1));
                int mainPid = indexOf(systemd, "MAINPID=" + successor);
                assertTrue(systemd.messages().subList(0, mainPid).stream().anyMatch(m -> m.has("RELOADING=1")),
                        "RELOADING=1 before the hand-over: " + systemd.messages());
                systemd.await(mainPid + 1, "READY=1"); // the successor's, once it is the main process
                // The old one gave up --metrics' address for the successor to bind.
                old.awaitMatches(Pattern.compile("metrics on 127\\.0\\.0\\.1:" + metricsPort), 2);
                old.awaitMatch(Pattern.compile("stopping reason=upgrade children=(\\d+)"));

                int atUpgrade = loops.sessions();
                loops.awaitSessions(atUpgrade + 200);
                loops.stop();
                assertEquals(List.of(), loops.failures(), "every client served through the hand-over");
                loops.report("upgrade (one TCP listener)", atUpgrade, "the upgrade line");

                // The held sessions are the old supervisor's, still echoing; it exits once they end.
                for (int i = 0; i < held.size(); i++) {
                    assertEquals("again " + i, held.get(i).roundTrip("again " + i));
                }
                assertTrue(old.isAlive(), "the old supervisor waits for its sessions");
            } finally {
                held.forEach(EchoClient::close);
            }
            assertEquals(0, old.awaitExitOfThisProcess(Await.DEFAULT));
            // The service never stopped, and its watchdog is the successor's now.
            assertEquals(List.of(), systemd.since(0, m -> m.has("STOPPING=1")), "no STOPPING=1: the service goes on");
            systemd.await(systemd.messages().size(), "WATCHDOG=1");

            // The successor serves alone, its own children now.
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("after", client.roundTrip("after"));
            }
            assertTrue(ProcessHandle.of(Long.parseLong(old.awaitMatch(UPGRADE).group(1))).map(ProcessHandle::isAlive)
                    .orElse(false), "the successor runs");
        }
    }

    /**
     * IPv4, IPv6 and a UNIX-domain socket file (with its mode, and a name): a client loop on each
     * keeps being served through the hand-over, the successor's children still learn which
     * listener took them, and the socket file, the same inode the successor accepts on, outlives
     * the old supervisor's exit and goes with the successor's stop.
     */
    @Test
    void everyKindOfListenerIsHandedOverWithItsNameAndItsSocketFile(@TempDir Path directory) throws Exception {
        Path socket = directory.resolve("app.sock");
        Path launcher = launcher(directory, "");
        try (ServerProcess old = ServerProcess.start(List.of(launcher.toString(), "-l", "127.0.0.1:0", "-l", "[::1]:0,name=v6",
                "-l", "unix:" + socket + ",mode=0660,name=local", "--stdio", "inout", "--", "/bin/sh", "-c",
                "echo \"$FORKSERVER_LISTENER\"; exec cat"), environment(launcher, Map.of()))) {
            Map<String, String> listening = new java.util.HashMap<>();
            for (Matcher m : old.awaitMatches(Pattern.compile("listening on (\\S+) \\(bound\\)"), 3)) {
                listening.put(m.group(1).replaceAll(":\\d+$", ""), m.group(1));
            }
            InetSocketAddress v4 = tcp(listening.get("127.0.0.1"));
            InetSocketAddress v6 = tcp(listening.get("[::1]"));
            String v4Name = listening.get("127.0.0.1");
            List<ClientLoops.Target> targets = List.of(new ClientLoops.Target(v4, v4Name), new ClientLoops.Target(v6, "v6"),
                    new ClientLoops.Target(UnixDomainSocketAddress.of(socket), "local"));
            assertEquals("rw-rw----", mode(socket));

            List<ClientLoops.Session> held = new ArrayList<>();
            long successor;
            try (ClientLoops loops = new ClientLoops(targets)) {
                for (ClientLoops.Target target : targets) {
                    ClientLoops.Session session = ClientLoops.Session.open(target.address());
                    held.add(session);
                    assertEquals(target.greeting(), session.readLine());
                    assertEquals("held", session.roundTrip("held"));
                }
                loops.awaitSessions(150);

                old.signal("USR2");
                successor = Long.parseLong(old.awaitMatch(UPGRADE).group(1));
                old.descendants(); // close() kills the successor too, once it is no child of the old one
                old.awaitMatches(HANDED_OVER, 3);
                old.awaitMatch(Pattern.compile("stopping reason=upgrade children=(\\d+)"));
                int atUpgrade = loops.sessions();
                loops.awaitEach(loops.perTarget().stream().map(n -> n + 100).toList()); // 100 more on every listener
                loops.stop();
                assertEquals(List.of(), loops.failures(), "every client of every listener served through the hand-over");
                loops.report("upgrade (v4, v6, unix)", atUpgrade, "the upgrade line");

                for (ClientLoops.Session session : held) {
                    assertEquals("again", session.roundTrip("again"), "a held session, still the old one's");
                }
                assertTrue(old.isAlive(), "the old supervisor waits for its sessions");
            } finally {
                held.forEach(ClientLoops.Session::close);
            }
            assertEquals(0, old.awaitExitOfThisProcess(Await.DEFAULT));

            // The old one's exit left the successor's socket file, as it was made.
            assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket file outlives the old supervisor");
            assertEquals("rw-rw----", mode(socket));
            // Only the successor serves now: its children name the listener that took them.
            for (ClientLoops.Target target : targets) {
                try (ClientLoops.Session session = ClientLoops.Session.open(target.address())) {
                    assertEquals(target.greeting(), session.readLine(), "FORKSERVER_LISTENER in the successor's child");
                    assertEquals("after", session.roundTrip("after"));
                }
            }

            ProcessHandle next = ProcessHandle.of(successor).orElseThrow(() -> new AssertionError("the successor runs"));
            assertTrue(next.destroy(), "SIGTERM to the successor");
            assertTrue(next.onExit().orTimeout(Await.DEFAULT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)
                    .exceptionally(t -> null).join() != null, "the successor stops on SIGTERM");
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the successor removed the socket file at its stop");
        }
    }

    @Test
    void aSuccessorThatFailsLeavesTheOldOneServingAndASecondSignalIsRefused(@TempDir Path directory) throws Exception {
        Path launcher = launcher(directory, "");
        try (ServerProcess old = ServerProcess.start(List.of(launcher.toString(), "--listen", "127.0.0.1:0", "--", "cat"),
                environment(launcher, Map.of()))) {
            InetSocketAddress address = old.awaitListening();
            // The new version refuses the command line: exit status 2, before it takes the socket.
            launcher(directory, "--no-such-option");
            old.signal("USR2");
            old.awaitMatch(Pattern.compile("upgrade-failed pid=\\d+ reason=\"?exited status=2"));
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("still", client.roundTrip("still"));
            }
            assertTrue(old.isAlive());

            // A successor slow to start (its launcher waits, at most a minute, until the test lets it
            // go on): a second SIGUSR2 meanwhile is refused. Sent only once the first is taken (the
            // launcher runs): two sent back to back may reach the process as one, the kernel
            // keeping one pending SIGUSR2 (seen on a loaded machine: no refusal logged).
            Path go = directory.resolve("go");
            Files.writeString(launcher, "#!/bin/sh\nfor i in $(seq 600); do [ -e '" + go + "' ] && break; sleep 0.1; done\n"
                    + "exec " + Project.bin("supervisor") + " \"$@\"\n");
            old.signal("USR2");
            Await.until("the successor's launcher to run", () -> !old.descendants().isEmpty());
            old.signal("USR2");
            old.awaitMatch(Pattern.compile("upgrade-refused reason=in-progress"));
            Files.writeString(go, "");
            Matcher upgrade = old.awaitMatch(UPGRADE);
            old.descendants();
            assertEquals(0, old.awaitExitOfThisProcess(Await.DEFAULT), "no session held: the old one leaves at once");
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("new", client.roundTrip("new"));
            }
            assertEquals(1, old.matches(UPGRADE).size());
            assertTrue(ProcessHandle.of(Long.parseLong(upgrade.group(1))).isPresent());
        }
    }

    @Test
    void aSuccessorWhosePredecessorIsStoppedBeforeTheHandOverStopsToo(@TempDir Path directory) throws Exception {
        Path launcher = launcher(directory, "");
        try (ServerProcess old = ServerProcess.start(List.of(launcher.toString(), "--listen", "127.0.0.1:0", "--", "cat"),
                environment(launcher, Map.of()))) {
            old.awaitListening();
            // The successor's launcher waits (at most a minute) until the test lets it go on: the old
            // supervisor is stopped before its successor can be ready, however slow the machine is.
            Path go = directory.resolve("go");
            Files.writeString(launcher, "#!/bin/sh\nfor i in $(seq 600); do [ -e '" + go + "' ] && break; sleep 0.1; done\n"
                    + "exec " + Project.bin("supervisor") + " \"$@\"\n");
            old.signal("USR2");
            List<ProcessHandle> successor = Await.value("the successor's start", Await.DEFAULT,
                    () -> old.descendants().isEmpty() ? null : old.descendants());
            old.signal("TERM");
            assertEquals(0, old.awaitExitOfThisProcess(Await.DEFAULT));
            Files.createFile(go);
            // The old one may have killed it on its way out; if not, it finds its predecessor gone and stops.
            for (ProcessHandle process : successor) {
                assertTrue(process.onExit().orTimeout(30, java.util.concurrent.TimeUnit.SECONDS)
                        .exceptionally(t -> null).join() != null, "the successor " + process.pid() + " exits; "
                        + old.stderr());
            }
            assertEquals(List.of(), old.matches(UPGRADE), "no hand-over");
        }
    }

    @Test
    void theOldOnesSparesStopAndTheSuccessorServesWithItsOwn(@TempDir Path directory) throws Exception {
        Pattern spareReady = Pattern.compile("spare-ready pid=(\\d+) ");
        Path launcher = launcher(directory, "");
        long successor;
        long newSpare;
        try (ServerProcess old = ServerProcess.start(List.of(launcher.toString(), "--listen", "127.0.0.1:0", "--spares", "1"),
                environment(launcher, Map.of()))) {
            InetSocketAddress address = old.awaitListening();
            long oldSpare = Long.parseLong(old.awaitMatch(spareReady).group(1));
            old.signal("USR2");
            successor = Long.parseLong(old.awaitMatch(UPGRADE).group(1));
            old.descendants();
            newSpare = Long.parseLong(old.awaitMatches(spareReady, 2).get(1).group(1));
            assertEquals(0, old.awaitExitOfThisProcess(Await.DEFAULT), "no session held: it leaves, its spare stopped");
            assertTrue(ProcessHandle.of(oldSpare).isEmpty(), "the old one's spare is gone");
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("spare", client.roundTrip("spare"));
                assertEquals(newSpare, old.awaitChildPidOf(client.localPort()), "the successor's spare took it");
            }
        }
        // Closing the server closes what its upgrade started, though init is the successor's parent now.
        assertTrue(ProcessHandle.of(successor).isEmpty(), "the successor " + successor + " is gone");
        assertTrue(ProcessHandle.of(newSpare).isEmpty(), "the successor's spare " + newSpare + " is gone");
    }

    /** A launcher that runs bin/supervisor with {@code extra} options first; written again in place. */
    private static Path launcher(Path directory, String extra) throws IOException {
        Path script = directory.resolve("forkserver");
        Path temporary = directory.resolve("forkserver.new");
        Files.writeString(temporary, "#!/bin/sh\nexec " + Project.bin("supervisor") + " " + extra + " \"$@\"\n");
        Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rwxr-xr-x"));
        // A rename, as a package manager replaces a file: the running shell keeps reading the old one.
        Files.move(temporary, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return script;
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static Map<String, String> environment(Path launcher, Map<String, String> more) {
        Map<String, String> environment = new java.util.HashMap<>(more);
        environment.put("FORKSERVER_LAUNCHER", launcher.toString());
        return environment;
    }

    private static int indexOf(SystemdStandIn systemd, String line) {
        SystemdStandIn.Message message = systemd.await(0, line);
        return systemd.messages().indexOf(message);
    }

    private static InetSocketAddress tcp(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(java.net.InetAddress.ofLiteral(hostPort.substring(0, colon).replaceAll("[\\[\\]]", "")),
                Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static String mode(Path file) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS));
    }
}
