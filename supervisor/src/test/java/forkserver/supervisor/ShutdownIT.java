package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SIGTERM and SIGINT: stop accepting, let sessions finish within the grace, then stop them; exit 0. */
class ShutdownIT {

    @Test
    void openSessionsMayFinishWithinTheGraceThenTheSupervisorExitsZero() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--shutdown-grace", "60s");
             EchoClient first = EchoClient.connect(supervisor.awaitListening());
             EchoClient second = EchoClient.connect(supervisor.awaitListening())) {
            InetSocketAddress address = supervisor.awaitListening();
            assertEquals("one", first.roundTrip("one"));
            assertEquals("two", second.roundTrip("two"));
            List<ProcessHandle> children = supervisor.descendants();
            assertEquals(2, children.size());

            supervisor.signal("TERM");
            supervisor.awaitMatch(Pattern.compile("stopping signal=TERM children=2 grace=60\\.000s"));

            // New clients are refused at once (the socket we bound is closed), while the sessions go on.
            assertRefused(address);
            assertEquals("still here", first.roundTrip("still here"));
            assertEquals("bye!", first.roundTrip("done"));
            assertEquals("bye!", second.roundTrip("done"));

            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
            supervisor.awaitMatch(Pattern.compile("stopped$"));
            assertNoneAlive(children);
            assertRefused(address);
        }
    }

    @Test
    void aSecondSigtermEndsTheGraceAtOnce() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--shutdown-grace", "60s",
                "--kill-grace", "5s", "--stdio", "inout", "--", "/bin/cat");
             EchoClient session = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("held", session.roundTrip("held"));
            supervisor.signal("TERM");
            supervisor.awaitMatch(Pattern.compile("stopping signal=TERM children=1 grace=60\\.000s"));
            long hurried = System.nanoTime();
            supervisor.signal("TERM");
            supervisor.awaitMatch(Pattern.compile("hurry signal=TERM skipped=shutdown-grace"));
            supervisor.awaitMatch(Pattern.compile("terminating signal=TERM children=1"));
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
            Duration took = Duration.ofNanos(System.nanoTime() - hurried);
            assertTrue(took.compareTo(Duration.ofSeconds(20)) < 0, "the 60 s grace was cut short, took " + took);
            assertTrue(session.atEndOfStream());
        }
    }

    @Test
    void aThirdSignalEndsTheKillGraceToo() {
        // A child that ignores SIGTERM: only SIGKILL ends it, and the third signal sends it at once.
        String script = "trap '' TERM; echo ready; while :; do sleep 1; done";
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--shutdown-grace", "60s",
                "--kill-grace", "60s", "--stdio", "inout", "--", "/bin/sh", "-c", script);
             EchoClient session = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("ready", session.readLine());
            supervisor.signal("TERM");
            supervisor.awaitMatch(Pattern.compile("stopping signal=TERM"));
            supervisor.signal("INT");
            supervisor.awaitMatch(Pattern.compile("terminating signal=TERM children=1"));
            supervisor.signal("TERM");
            supervisor.awaitMatch(Pattern.compile("hurry signal=TERM skipped=kill-grace"));
            supervisor.awaitMatch(Pattern.compile("terminating signal=KILL children=1"));
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /**
     * A thousand held sessions drain within the graces and a little: one reading of /proc for
     * all their descendants, not one per child. And the log tells every end before "stopped".
     */
    @Test
    void aThousandChildrenDrainWithinTheGracesAndEachEndIsLoggedBeforeStopped() throws IOException {
        int sessions = 1000;
        List<Socket> clients = new ArrayList<>();
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "-c", "1100",
                "--shutdown-grace", "2s", "--kill-grace", "1s", "--stdio", "inout", "--", "/bin/cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            for (int i = 0; i < sessions; i++) {
                Socket client = new Socket();
                clients.add(client);
                client.connect(address, 10_000);
            }
            Await.until("a child for every session", Duration.ofSeconds(120),
                    () -> supervisor.matches(START).size() == sessions);

            long signalled = System.nanoTime();
            supervisor.signal("TERM");
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(60)));
            Duration drain = Duration.ofNanos(System.nanoTime() - signalled);
            System.err.println("drained " + sessions + " children in " + drain.toMillis() + " ms");
            assertTrue(drain.compareTo(Duration.ofSeconds(2 + 1 + 3)) <= 0, "drain took " + drain);

            List<String> log = supervisor.stderr();
            int stopped = log.indexOf("forkserver: stopped");
            assertTrue(stopped >= 0, "stopped logged, and last: " + log.subList(Math.max(0, log.size() - 3), log.size()));
            assertEquals(log.size() - 1, stopped, "nothing after stopped");
            Set<String> started = pids(log, START);
            Set<String> ended = pids(log.subList(0, stopped), END);
            assertEquals(sessions, started.size());
            assertEquals(started, ended, "an end line for every child, before stopped");
            assertTrue(log.contains("forkserver: terminating signal=TERM children=" + sessions), "all still running at TERM");
        } finally {
            for (Socket client : clients) {
                client.close();
            }
        }
    }

    private static final Pattern START = Pattern.compile("^forkserver: start pid=(\\d+) ");
    private static final Pattern END = Pattern.compile("^forkserver: end pid=(\\d+) ");

    private static Set<String> pids(List<String> log, Pattern event) {
        Set<String> pids = new HashSet<>();
        for (String line : log) {
            Matcher m = event.matcher(line);
            if (m.find()) {
                pids.add(m.group(1));
            }
        }
        return pids;
    }

    @Test
    void sessionsStillOpenAfterTheGraceAreTerminatedAndNothingIsLeftBehind() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--shutdown-grace", "1s");
             EchoClient stubborn = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("never done", stubborn.roundTrip("never done"));
            List<ProcessHandle> children = supervisor.descendants();

            supervisor.signal("INT");

            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
            supervisor.awaitMatch(Pattern.compile("terminating signal=TERM children=1"));
            assertTrue(stubborn.atEndOfStream());
            assertNoneAlive(children);
        }
    }

    @Test
    void aChildThatIgnoresSigtermIsKilledAfterTheKillGrace() {
        // A shell that traps TERM, and a grandchild of its own: both are gone in the end.
        String script = "trap '' TERM; echo ready; sleep 300 & wait";
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--shutdown-grace", "0s",
                "--kill-grace", "1s", "--stdio", "inout", "--", "/bin/sh", "-c", script);
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("ready", client.readLine());
            Await.until("the child's sleep to start", () -> supervisor.descendants().size() == 2);
            List<ProcessHandle> family = supervisor.descendants();

            supervisor.signal("TERM");

            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
            supervisor.awaitMatch(Pattern.compile("terminating signal=KILL children=1"));
            assertNoneAlive(family);
        }
    }

    private static void assertNoneAlive(List<ProcessHandle> processes) {
        Await.until("every child to be gone", Duration.ofSeconds(10),
                () -> processes.stream().noneMatch(ProcessHandle::isAlive));
        for (ProcessHandle process : processes) {
            assertFalse(process.isAlive(), "left behind: " + process.pid());
        }
    }

    /** A connection to {@code address} is refused at once (nothing listens), not left waiting. */
    private static void assertRefused(InetSocketAddress address) {
        try (Socket socket = new Socket()) {
            socket.connect(address, 5_000);
            throw new AssertionError("connected to " + address + " while stopping");
        } catch (ConnectException e) {
            // refused: what a client should see
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
