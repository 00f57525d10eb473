package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

            // No new connection is accepted: the listening socket stays open but nobody accepts.
            assertEquals("still here", first.roundTrip("still here"));
            assertEquals("bye!", first.roundTrip("done"));
            assertEquals("bye!", second.roundTrip("done"));

            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
            supervisor.awaitMatch(Pattern.compile("stopped$"));
            assertNoneAlive(children);
            assertThrows(UncheckedIOException.class, () -> refuse(address));
        }
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

    private static void refuse(InetSocketAddress address) {
        try (Socket socket = new Socket()) {
            socket.connect(address, 5_000);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
