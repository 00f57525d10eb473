package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.Listening;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Generic programs, as under tcpserver: {@code --stdio inout} puts the connection on fd 0 and 1. */
class StdioInoutIT {

    @Test
    void catIsAnEchoServer() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--stdio", "inout", "--", "cat");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("meow", client.roundTrip("meow"));
            assertEquals("done", client.roundTrip("done")); // cat knows no protocol
            client.shutdownOutput();
            assertTrue(client.atEndOfStream());
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ status=0"));
            assertEquals(List.of(), supervisor.stdout(), "the supervisor wrote nothing on stdout");
        }
    }

    /**
     * {@code bin/supervisor -- cat}, as a tcpserver user writes it: the COMMAND reads and writes
     * the connection (inout). With {@code --stdio in} its fd 1 is /dev/null. Either way no byte
     * of the client reaches the supervisor's own output (under systemd, the journal).
     */
    @Test
    void aClientsBytesNeverReachTheSupervisorsOutput() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--", "cat");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("secret one", client.roundTrip("secret one"), "a COMMAND gets fds 0 and 1");
            client.shutdownOutput();
            assertTrue(client.atEndOfStream());
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ status=0"));
            assertEquals(List.of(), supervisor.stdout());
        }
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--stdio", "in", "--", "cat");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            client.send("secret two");
            client.shutdownOutput();
            assertTrue(client.atEndOfStream(), "cat's output goes nowhere");
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ status=0"));
            assertEquals(List.of(), supervisor.stdout(), "not on the supervisor's stdout");
            assertTrue(supervisor.stderr().stream().noneMatch(line -> line.contains("secret")), "nor in its log");
        }
    }

    /**
     * While a child is spawned the supervisor's fd 1 is the client's socket. Its JVM's own output
     * (here thread dumps, printed on every SIGQUIT while all threads stand still at a safepoint,
     * the spawning one included) must never land there: every client reads exactly its echo.
     */
    @Test
    void theSupervisorsJvmOutputNeverReachesAClient() throws Exception {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--stdio", "inout", "--", "cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            AtomicBoolean done = new AtomicBoolean();
            Thread quitter = Thread.ofPlatform().daemon().start(() -> {
                while (!done.get()) {
                    supervisor.signal("QUIT");
                }
            });
            try {
                for (int i = 0; i < 40; i++) {
                    try (EchoClient client = EchoClient.connect(address)) {
                        client.send("session " + i);
                        client.shutdownOutput();
                        assertEquals("session " + i + "\n", client.readToEnd(), "exactly its echo");
                    }
                }
            } finally {
                done.set(true);
                quitter.join(30_000);
            }
            supervisor.awaitMatch(Pattern.compile("^Full thread dump"));
            assertEquals(List.of(), supervisor.stdout(), "not on stdout either");
        }
    }

    @Test
    void theChildSeesTheConnectionInItsEnvironment() {
        String script = "echo \"$PROTO $TCPREMOTEIP:$TCPREMOTEPORT $TCPLOCALIP:$TCPLOCALPORT $REMOTE_ADDR:$REMOTE_PORT\"";
        try (ServerProcess supervisor = ServerProcess.supervisor(
                "--listen", "127.0.0.1:0", "--stdio", "inout", "--", "/bin/sh", "-c", script);
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            int server = supervisor.awaitListening().getPort();
            int me = client.localPort();
            assertEquals("TCP 127.0.0.1:" + me + " 127.0.0.1:" + server + " 127.0.0.1:" + me, client.readLine());
        }
    }

    @Test
    void ipv6LoopbackWorksWithTheCanonicalAddressText() {
        String script = "echo \"$TCPREMOTEIP $TCPLOCALIP\"";
        try (ServerProcess supervisor = ServerProcess.supervisor(
                "--listen", "[::1]:0", "--stdio", "inout", "--", "/bin/sh", "-c", script)) {
            Listening listening = supervisor.awaitListeningLine();
            assertEquals("::1", listening.host(), "the canonical text");
            try (EchoClient client = EchoClient.connect(listening.address())) {
                assertEquals("::1 ::1", client.readLine());
            }
        }
    }
}
