package forkserver.supervisor;

import forkserver.testkit.Activators;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Listening;
import forkserver.testkit.FdListing;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/supervisor started by systemd-socket-activate with the listening socket: on fd 3 with
 * LISTEN_FDS (plain mode, as a .socket unit with Accept=no; several, named, from fd 3 on), and on
 * fd 0 ({@code --inetd}, as
 * Accept=no with StandardInput=socket, or inetd {@code wait}). systemd-socket-activate execs the
 * supervisor when the first client connects, so the supervisor's pid is the tool's.
 */
class SocketActivationIT {

    private static final int SESSIONS = 5;

    static Stream<Arguments> modes() {
        return Stream.of(
                Arguments.of(List.of(), "systemd LISTEN_FDS fd 3"),
                Arguments.of(List.of("--inetd"), "inherited on fd 0"));
    }

    @ParameterizedTest
    @MethodSource("modes")
    void servesConcurrentSessionsOnTheInheritedSocketAndStopsOnSigterm(List<String> mode, String how) {
        try (Activators.Started activator = Activators.systemdSocketActivate(mode, List.of(Project.bin("supervisor")), Map.of())) {
            ServerProcess supervisor = activator.process();
            List<EchoClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < SESSIONS; i++) {
                    clients.add(EchoClient.connect(activator.address()));
                }
                assertEquals(new Listening("127.0.0.1", activator.address().getPort(), how),
                        supervisor.awaitListeningLine());
                for (int i = 0; i < SESSIONS; i++) {
                    clients.get(i).send("session " + i);
                }
                Set<Long> pids = new HashSet<>();
                for (int i = 0; i < SESSIONS; i++) {
                    assertEquals("session " + i, clients.get(i).readLine());
                    pids.add(supervisor.awaitChildPidOf(clients.get(i).localPort()));
                }
                assertEquals(SESSIONS, pids.size(), "one child per connection");
                for (EchoClient client : clients) {
                    assertEquals("bye!", client.roundTrip("done"));
                }
            } finally {
                clients.forEach(EchoClient::close);
            }
            supervisor.awaitMatches(Pattern.compile("forkserver: end pid=\\d+ status=0"), SESSIONS);

            supervisor.signal("TERM");
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(60)), "exit status after SIGTERM");
            assertTrue(supervisor.stderr().contains("forkserver: stopped"), supervisor.stderr().toString());
        }
    }

    /**
     * A child holds its connection and the supervisor's stderr, nothing else: not the listening
     * socket (which was on fd 0 or fd 3), and not systemd's LISTEN_* variables.
     */
    @ParameterizedTest
    @MethodSource("modes")
    void aChildGetsNeitherTheListeningSocketNorTheActivationVariables(List<String> mode, String how) {
        List<String> command = List.of(Project.bin("supervisor"), "--stdio", "inout", "--",
                "/bin/sh", "-c", "env; " + FdListing.LIST_FDS);
        try (Activators.Started activator = Activators.systemdSocketActivate(mode, command, Map.of());
             EchoClient client = EchoClient.connect(activator.address())) {
            List<String> lines = FdListing.linesUntilEnd(client);
            Map<Integer, String> fds = FdListing.parse(lines);
            assertEquals(List.of(0, 1, 2), List.copyOf(fds.keySet()), "descriptors: " + fds);
            assertTrue(fds.get(0).startsWith("socket:") && fds.get(0).equals(fds.get(1)), "fd 0 and 1 are the connection: " + fds);
            assertTrue(fds.get(2).startsWith("pipe:"), "fd 2 is the supervisor's stderr: " + fds);
            assertFalse(lines.stream().anyMatch(line -> line.startsWith("LISTEN_")), "no LISTEN_* variable: " + lines);
            assertTrue(lines.contains("TCPLOCALPORT=" + activator.address().getPort()), lines.toString());
            assertEquals(how, activator.process().awaitListeningLine().how());
        }
    }

    /** As sd_listen_fds(3): LISTEN_PID of another process (a parent's leftovers) means no socket. */
    @Test
    void activationVariablesOfAnotherProcessAreIgnoredAndNotPassedOn() {
        try (ServerProcess supervisor = ServerProcess.supervisor(Map.of("LISTEN_PID", "1", "LISTEN_FDS", "1"),
                "--listen", "127.0.0.1:0", "--stdio", "inout", "--", "/bin/sh", "-c", "env; " + FdListing.LIST_FDS);
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            List<String> lines = FdListing.linesUntilEnd(client);
            assertFalse(lines.stream().anyMatch(line -> line.startsWith("LISTEN_")), "no LISTEN_* variable: " + lines);
            Listening listening = supervisor.awaitListeningLine();
            assertEquals(List.of("127.0.0.1", "bound"), List.of(listening.host(), listening.how()));
        }
    }

    @Test
    void listenTogetherWithAnInheritedSocketIsAUsageError() {
        Activators.Started activator = Activators.systemdSocketActivate(List.of(),
                List.of(Project.bin("supervisor"), "--listen", "127.0.0.1:0"), Map.of());
        assertUsageError(activator, "--listen 127.0.0.1:0 given, but the socket was passed by the activator"
                + " (systemd LISTEN_FDS fd 3); drop one of the two");
    }

    /**
     * TLS is spoken by the worker over TCP: a UNIX-domain socket among the activator's would fail
     * each of its connections, so the supervisor refuses to start, naming it.
     */
    @Test
    void tlsWithAnInheritedUnixSocketIsAUsageError(@TempDir Path dir) throws IOException {
        Path socket = dir.resolve("tls.sock");
        Path cert = Files.writeString(dir.resolve("cert.pem"), "not read before the check\n");
        Path key = Files.writeString(dir.resolve("key.pem"), "not read before the check\n");
        Activators.Started activator = Activators.systemdSocketActivate(List.of("-l", socket.toString()),
                List.of(Project.bin("supervisor"), "--tls-cert", cert.toString(), "--tls-key", key.toString()), Map.of());
        assertUsageError(activator, "TLS (--tls-cert or FORKSERVER_TLS_CERT) serves TCP listeners only, and"
                + " systemd LISTEN_FDS fd 3 is a UNIX-domain socket: serve it from a supervisor without TLS");
    }

    /**
     * {@code LISTEN_FDS=3} ({@code ListenStream=} three times): IPv6, a UNIX socket and IPv4 served
     * by one supervisor, each child told by {@code FileDescriptorName=} which one took it.
     */
    @Test
    void threeNamedSocketsAreServedAndEachChildKnowsItsOwn(@TempDir Path dir) {
        int v6 = Activators.freePort();
        Path socket = dir.resolve("a.sock");
        // systemd-socket-activate passes them in the order of its -l: ours first, the kit's 127.0.0.1 last.
        List<String> options = List.of("-l", "[::1]:" + v6, "-l", socket.toString(), "--fdname=v6:local:v4");
        List<String> command = List.of(Project.bin("supervisor"), "-c", "3", "--stdio", "inout", "--",
                "/bin/sh", "-c", "echo \"$PROTO $FORKSERVER_LISTENER\"; exec cat");
        try (Activators.Started activator = Activators.systemdSocketActivate(options, command, Map.of());
             EchoClient v4Client = EchoClient.connect(activator.address())) {
            ServerProcess supervisor = activator.process();
            assertEquals("TCP v4", v4Client.readLine());
            supervisor.awaitMatch(Pattern.compile("listening on \\[::1]:" + v6 + " \\(systemd LISTEN_FDS fd 3 v6\\) name=v6 "));
            supervisor.awaitMatch(Pattern.compile("listening on unix:" + Pattern.quote(socket.toString())
                    + " \\(systemd LISTEN_FDS fd 4 local\\) name=local "));
            supervisor.awaitMatch(Pattern.compile("listening on 127\\.0\\.0\\.1:" + activator.address().getPort()
                    + " \\(systemd LISTEN_FDS fd 5 v4\\) name=v4 "));
            try (EchoClient v6Client = EchoClient.connect(new InetSocketAddress(InetAddress.ofLiteral("::1"), v6));
                 ListenersIT.UnixClient local = ListenersIT.UnixClient.connect(socket)) {
                assertEquals("TCP v6", v6Client.readLine());
                assertEquals("IPC local", local.readLine());
                supervisor.awaitMatches(Pattern.compile("start pid=\\d+ .*children=\\d/3"), 3);
            }
        }
    }

    /**
     * The supervisor put where a worker belongs (systemd Accept=yes, inetd nowait): fd 0 is one
     * client's connection. One line naming the fix, and the client is let go rather than left hanging.
     */
    @Test
    void aConnectedSocketOnFdZeroIsAUsageErrorNamingTheFix() {
        try (Activators.Started activator = Activators.systemdSocketActivate(List.of("--inetd", "-a"),
                List.of(Project.bin("supervisor")), Map.of());
             EchoClient client = EchoClient.connect(activator.address())) {
            assertTrue(client.atEndOfStream(), "the client is closed, not left waiting");
            String line = activator.process().awaitMatch(Pattern.compile("^forkserver: .*")).group();
            assertEquals("forkserver: fd 0 is a connected TCP socket: the supervisor was started for one connection"
                    + " (inetd nowait, systemd Accept=yes); run bin/worker there, or give the supervisor the listening"
                    + " socket (inetd wait, Accept=no) (see --help)", line);
        }
    }

    /** The first client makes systemd-socket-activate exec the supervisor, which refuses with one line. */
    private static void assertUsageError(Activators.Started activator, String expected) {
        try (activator) {
            EchoClient.connect(activator.address()).close();
            int status = activator.process().awaitExit(Duration.ofSeconds(60));
            List<String> ours = activator.process().stderr().stream().filter(line -> line.startsWith("forkserver")).toList();
            assertEquals(Main.EXIT_USAGE, status, ours.toString());
            assertEquals(1, ours.size(), "one line: " + ours);
            assertTrue(ours.getFirst().contains(expected), "'" + expected + "' in " + ours);
        }
    }
}
