package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
            try (Loops loops = new Loops(address, 2)) {
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
                System.err.println("upgrade: " + loops.sessions() + " sessions by 2 client loops, " + atUpgrade
                        + " before the upgrade line; longest connect-to-echo " + loops.longestMillis() + " ms");

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

            // A successor slow to start (a launcher that waits a second): a second SIGUSR2 meanwhile is refused.
            Files.writeString(launcher, "#!/bin/sh\nsleep 1\nexec " + Project.bin("supervisor") + " \"$@\"\n");
            old.signal("USR2");
            old.signal("USR2");
            old.awaitMatch(Pattern.compile("upgrade-refused reason=in-progress"));
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
            // The successor's launcher waits a second: the old supervisor is stopped before it is ready.
            Files.writeString(launcher, "#!/bin/sh\nsleep 1\nexec " + Project.bin("supervisor") + " \"$@\"\n");
            old.signal("USR2");
            List<ProcessHandle> successor = Await.value("the successor's start", Await.DEFAULT,
                    () -> old.descendants().isEmpty() ? null : old.descendants());
            old.signal("TERM");
            assertEquals(0, old.awaitExitOfThisProcess(Await.DEFAULT));
            // It stops whether the old one saw it ready (and killed it) or was gone first (it stops itself).
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
        try (ServerProcess old = ServerProcess.start(List.of(launcher.toString(), "--listen", "127.0.0.1:0", "--spares", "1"),
                environment(launcher, Map.of()))) {
            InetSocketAddress address = old.awaitListening();
            long oldSpare = Long.parseLong(old.awaitMatch(spareReady).group(1));
            old.signal("USR2");
            old.awaitMatch(UPGRADE);
            old.descendants();
            long newSpare = Long.parseLong(old.awaitMatches(spareReady, 2).get(1).group(1));
            assertEquals(0, old.awaitExitOfThisProcess(Await.DEFAULT), "no session held: it leaves, its spare stopped");
            assertTrue(ProcessHandle.of(oldSpare).isEmpty(), "the old one's spare is gone");
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("spare", client.roundTrip("spare"));
                assertEquals(newSpare, old.awaitChildPidOf(client.localPort()), "the successor's spare took it");
            }
        }
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

    /** Client loops: connect, one line echoed, close; again and again until stopped. Every failure is kept. */
    private static final class Loops implements AutoCloseable {

        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicInteger sessions = new AtomicInteger();
        private final AtomicLong longestNanos = new AtomicLong();
        private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        private final List<Thread> threads = new ArrayList<>();

        Loops(InetSocketAddress address, int count) {
            for (int i = 0; i < count; i++) {
                int loop = i;
                threads.add(Thread.ofPlatform().daemon().name("client-loop-" + i).start(() -> run(address, loop)));
            }
        }

        private void run(InetSocketAddress address, int loop) {
            for (int n = 0; running.get(); n++) {
                String line = "loop " + loop + " session " + n;
                long start = System.nanoTime();
                try (Socket socket = new Socket()) {
                    socket.connect(address, 10_000);
                    socket.setSoTimeout(10_000);
                    OutputStream out = socket.getOutputStream();
                    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    String answer = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                            StandardCharsets.UTF_8)).readLine();
                    if (!line.equals(answer)) {
                        failures.add(line + ": got " + answer);
                    }
                } catch (IOException e) {
                    failures.add(line + ": " + e);
                }
                longestNanos.accumulateAndGet(System.nanoTime() - start, Math::max);
                sessions.incrementAndGet();
            }
        }

        int sessions() {
            return sessions.get();
        }

        long longestMillis() {
            return longestNanos.get() / 1_000_000;
        }

        List<String> failures() {
            return List.copyOf(failures);
        }

        void awaitSessions(int count) {
            Await.until(count + " sessions by the client loops (" + sessions + " so far, failures " + failures + ")",
                    Duration.ofSeconds(60), () -> sessions.get() >= count);
        }

        void stop() throws InterruptedException {
            running.set(false);
            for (Thread thread : threads) {
                thread.join(30_000);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }
}
