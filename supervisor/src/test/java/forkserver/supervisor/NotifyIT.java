package forkserver.supervisor;

import forkserver.posix.Posix;
import forkserver.supervisor.systemd.SystemdNotify;
import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Listening;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * systemd's notify protocol, with a datagram socket of the test standing in for systemd:
 * readiness, status, reload, stop, and the watchdog, which must stop when the supervisor cannot
 * accept any more.
 */
class NotifyIT {

    /** WATCHDOG_USEC for the watchdog tests: pings every 200 ms. */
    private static final String WATCHDOG_USEC = "400000";
    private static final Duration PING = Duration.ofMillis(200);

    @Test
    void readyOnceListeningThenStatusReloadAndStopping(@TempDir Path directory) throws Exception {
        Path rules = Files.writeString(directory.resolve("rules"), "allow 127.0.0.1\n");
        try (SystemdStandIn systemd = new SystemdStandIn(directory.resolve("notify").toString()); // a path
             ServerProcess supervisor = ServerProcess.supervisor(systemd.environment(), "--listen", "127.0.0.1:0",
                     "--rules", rules.toString(), "--", "cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            SystemdStandIn.Message ready = systemd.await(0, "READY=1");
            assertEquals("children 0/40, accepted 0, rejected 0", ready.value("STATUS"));
            assertTrue(supervisor.stderr().stream().anyMatch(line -> Listening.in(line).isPresent()),
                    "READY only once listening");

            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("hi", client.roundTrip("hi"));
                SystemdStandIn.Message status = Await.value("STATUS with the child", Await.DEFAULT, () -> systemd.since(0,
                        m -> "children 1/40, accepted 1, rejected 0".equals(m.value("STATUS"))).stream().findFirst().orElse(null));
                assertTrue(status.nanos() - ready.nanos() >= Duration.ofMillis(900).toNanos(),
                        "STATUS at most once a second");
            }

            int before = systemd.messages().size();
            long hupAt = Posix.monotonicMicros();
            supervisor.signal("HUP");
            SystemdStandIn.Message reloading = systemd.await(before, "RELOADING=1");
            long monotonic = Long.parseLong(reloading.value("MONOTONIC_USEC"));
            assertTrue(monotonic >= hupAt && monotonic <= Posix.monotonicMicros(), "MONOTONIC_USEC is CLOCK_MONOTONIC now");
            int reloadingIndex = systemd.messages().indexOf(reloading);
            systemd.await(reloadingIndex + 1, "READY=1");
            supervisor.awaitMatch(Pattern.compile("reloaded file=\\S+ rules=1"));

            before = systemd.messages().size();
            supervisor.signal("TERM");
            SystemdStandIn.Message stopping = systemd.await(before, "STOPPING=1");
            assertNotNull(stopping.value("STATUS"));
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
        }
    }

    @Test
    void theWatchdogIsPingedEveryHalfOfWatchdogUsecAndNotForAnotherPid() throws Exception {
        try (SystemdStandIn systemd = SystemdStandIn.abstractName();
             ServerProcess supervisor = ServerProcess.supervisor(systemd.environment("WATCHDOG_USEC", WATCHDOG_USEC),
                     "--listen", "127.0.0.1:0", "--", "cat")) {
            supervisor.awaitListening();
            List<SystemdStandIn.Message> pings = systemd.awaitCount(0, "WATCHDOG=1", 6, Await.DEFAULT);
            long spanNanos = pings.getLast().nanos() - pings.getFirst().nanos();
            assertTrue(spanNanos >= PING.multipliedBy(5).toNanos() * 8 / 10, "pings about every 200 ms: " + spanNanos / 1e6 + " ms for 5");
        }
        try (SystemdStandIn systemd = SystemdStandIn.abstractName();
             ServerProcess supervisor = ServerProcess.supervisor(
                     systemd.environment("WATCHDOG_USEC", WATCHDOG_USEC, "WATCHDOG_PID", "1"),
                     "--listen", "127.0.0.1:0", "--", "cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            systemd.await(0, "READY=1");
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("hi", client.roundTrip("hi"));
                // A STATUS= update comes a second or more after READY: five ping intervals at least.
                Await.until("a STATUS update", () -> systemd.since(1, m -> m.value("STATUS") != null).size() > 0);
            }
            assertEquals(List.of(), systemd.since(0, m -> m.has("WATCHDOG=1")), "WATCHDOG_PID names another process");
        }
    }

    @Test
    void waitingAtMaxChildrenIsAliveButAStoppedSupervisorIsNot() throws Exception {
        try (SystemdStandIn systemd = SystemdStandIn.abstractName();
             ServerProcess supervisor = ServerProcess.supervisor(systemd.environment("WATCHDOG_USEC", WATCHDOG_USEC),
                     "--listen", "127.0.0.1:0", "-c", "1", "--", "cat");
             EchoClient first = EchoClient.connect(supervisor.awaitListening());
             EchoClient second = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("hi", first.roundTrip("hi"));
            second.send("waiting");
            assertEquals(null, second.readLineWithin(300), "the second client waits in the backlog (-c 1)");
            // The acceptor waits for its turn: a legitimate wait, so the pings go on.
            int now = systemd.messages().size();
            systemd.awaitCount(now, "WATCHDOG=1", 5, Await.DEFAULT);

            // SIGSTOP: the whole supervisor is wedged; no ping may come until SIGCONT.
            supervisor.signal("STOP");
            try {
                Thread.sleep(PING.toMillis()); // a ping on its way when the signal landed
                int stoppedAt = systemd.messages().size();
                Thread.sleep(PING.multipliedBy(6).toMillis()); // six intervals without a ping
                assertEquals(List.of(), systemd.since(stoppedAt, m -> m.has("WATCHDOG=1")), "no ping while stopped");
            } finally {
                supervisor.signal("CONT");
            }
            systemd.awaitCount(systemd.messages().size(), "WATCHDOG=1", 2, Await.DEFAULT);
            first.shutdownOutput();
            assertTrue(first.atEndOfStream());
            assertEquals("waiting", second.readLine(), "served once the first child ended");
        }
    }

    /**
     * A real wedge: the supervisor's stderr (the journal's pipe) stops being read and fills, so
     * the acceptor blocks writing its next log line. It is alive but cannot accept: the pings
     * must stop, and come back once the log is read again.
     */
    @Test
    void anAcceptorStuckOnItsLogStopsThePings() throws Exception {
        // A child that writes ~300 KB to stderr: far more than a pipe holds once it is logged.
        String flood = "head -c 300000 /dev/zero | tr '\\0' x | fold -w 1000 >&2; exec cat";
        try (SystemdStandIn systemd = SystemdStandIn.abstractName()) {
            ProcessBuilder builder = new ProcessBuilder(Project.bin("supervisor"), "--listen", "127.0.0.1:0", "--",
                    "/bin/sh", "-c", flood).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            builder.environment().put("JAVA_HOME", Project.javaHome());
            builder.environment().putAll(systemd.environment("WATCHDOG_USEC", WATCHDOG_USEC));
            Process supervisor = builder.start();
            try {
                java.io.BufferedReader log = new java.io.BufferedReader(
                        new java.io.InputStreamReader(supervisor.getErrorStream(), java.nio.charset.StandardCharsets.UTF_8));
                Listening listening = null;
                for (String line; listening == null && (line = log.readLine()) != null; ) {
                    listening = Listening.in(line).orElse(null);
                }
                assertNotNull(listening, "the supervisor started");
                InetSocketAddress address = listening.address();
                systemd.awaitCount(0, "WATCHDOG=1", 2, Await.DEFAULT);
                // From here on nobody reads the log.
                try (EchoClient flooding = EchoClient.connect(address)) {
                    flooding.send("first");
                    Thread.sleep(1_000); // the flood is read and logged until the pipe is full
                    try (java.net.Socket next = new java.net.Socket("127.0.0.1", address.getPort())) {
                        Await.until("the pings to stop while the supervisor lives", () -> {
                            List<SystemdStandIn.Message> pings = systemd.since(0, m -> m.has("WATCHDOG=1"));
                            return supervisor.isAlive()
                                    && System.nanoTime() - pings.getLast().nanos() > PING.multipliedBy(6).toNanos();
                        });
                        // The log is read again: the acceptor goes on, and so do the pings.
                        Thread.ofPlatform().daemon().start(() -> {
                            try {
                                supervisor.getErrorStream().transferTo(java.io.OutputStream.nullOutputStream());
                            } catch (IOException e) {
                                // the supervisor is gone
                            }
                        });
                        systemd.awaitCount(systemd.messages().size(), "WATCHDOG=1", 2, Await.DEFAULT);
                    }
                }
            } finally {
                supervisor.descendants().forEach(ProcessHandle::destroyForcibly);
                supervisor.destroyForcibly();
                supervisor.waitFor();
            }
        }
    }

    @Test
    void childrenDoNotSeeTheNotifyVariables() throws Exception {
        try (SystemdStandIn systemd = SystemdStandIn.abstractName();
             ServerProcess supervisor = ServerProcess.supervisor(
                     systemd.environment("WATCHDOG_USEC", WATCHDOG_USEC, "WATCHDOG_PID", "1"),
                     "--listen", "127.0.0.1:0", "--", "/usr/bin/env");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            String environment = client.readToEnd();
            assertTrue(environment.contains("TCPREMOTEIP=127.0.0.1"), environment);
            for (String variable : SystemdNotify.VARIABLES) {
                assertFalse(environment.contains(variable + "="), variable + " in " + environment);
            }
        }
    }

    @Test
    void aNotifySocketNobodyListensOnIsLoggedOnceAndCostsNoConnection() throws IOException {
        String nobody = "@forkserver-nobody-" + System.nanoTime();
        try (ServerProcess supervisor = ServerProcess.supervisor(
                java.util.Map.of("NOTIFY_SOCKET", nobody, "WATCHDOG_USEC", WATCHDOG_USEC),
                "--listen", "127.0.0.1:0", "--", "cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            supervisor.awaitMatch(Pattern.compile("notify-failed socket=" + Pattern.quote(nobody)
                    + " message=\\S+ reason=ECONNREFUSED detail="));
            for (int i = 0; i < 3; i++) {
                try (EchoClient client = EchoClient.connect(address)) {
                    assertEquals("hi " + i, client.roundTrip("hi " + i));
                }
            }
            supervisor.awaitMatches(Pattern.compile("end pid="), 3);
            assertEquals(1, supervisor.matches(Pattern.compile("notify-failed")).size(),
                    "said once, though every ping failed: " + supervisor.stderr());
        }
    }
}
