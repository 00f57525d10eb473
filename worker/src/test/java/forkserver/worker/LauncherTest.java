package forkserver.worker;

import forkserver.handler.Connection;
import forkserver.handler.Handler;
import forkserver.handler.SocketConnection;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LauncherTest {

    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    /** A handler named by class, as a user's would be. */
    public static final class Greeter implements Handler {
        @Override
        public void serve(Connection connection) throws IOException {
            connection.out().write(("hello " + connection.remoteIp() + " " + connection.env("GREETING") + "\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
    }

    /** A handler that fails. */
    public static final class Broken implements Handler {
        @Override
        public void serve(Connection connection) {
            throw new IllegalStateException("broken on purpose");
        }
    }

    /** A handler that says how it ended through its exit status, with its arguments. */
    public static final class Judge implements Handler {
        @Override
        public void serve(Connection connection) throws IOException {
            connection.out().write((String.join(",", connection.arguments()) + "\n").getBytes(StandardCharsets.UTF_8));
            connection.setExitStatus(Integer.parseInt(connection.arguments().getFirst()));
        }
    }

    /** Implements Handler but cannot be made by the worker. */
    public static final class NoDefaultConstructor implements Handler {
        public NoDefaultConstructor(String unused) {
        }

        @Override
        public void serve(Connection connection) {
        }
    }

    @Test
    void theHandlerChoosesTheExitStatusAndGetsItsArguments() throws IOException {
        try (SocketPair sockets = SocketPair.open()) {
            int status = Launcher.serve(sockets.server(), Judge.class.getName(), null, List.of("65", "b"), Map.of(), null, err);
            assertEquals(65, status, errBytes.toString(StandardCharsets.UTF_8));
            assertEquals("65,b\n", new String(sockets.client().socket().getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** Under inetd the socket comes without keepalive: the worker turns it on. */
    @Test
    void theConnectionGetsTcpKeepalive() throws IOException {
        try (SocketPair sockets = SocketPair.open()) {
            assertEquals(false, sockets.server().getOption(java.net.StandardSocketOptions.SO_KEEPALIVE));
            Launcher.serve(sockets.server(), Judge.class.getName(), null, List.of("0"), Map.of(), null, err);
            assertEquals(true, sockets.server().getOption(java.net.StandardSocketOptions.SO_KEEPALIVE),
                    errBytes.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void anExitStatusOutsideABytesRangeIsRefused() throws IOException {
        try (SocketPair sockets = SocketPair.open()) {
            SocketConnection connection = new SocketConnection(sockets.server(), Map.of());
            assertThrows(IllegalArgumentException.class, () -> connection.setExitStatus(256));
            assertThrows(IllegalArgumentException.class, () -> connection.setExitStatus(-1));
            connection.setExitStatus(255);
            assertEquals(255, connection.exitStatus());
        }
    }

    /** A handler whose warm-up fails. */
    public static final class ColdForever implements Handler {
        @Override
        public void serve(Connection connection) {
        }

        @Override
        public void warmUp(List<String> arguments) throws IOException {
            throw new IOException("cannot warm " + arguments);
        }
    }

    @Test
    void trainingRunsTheWarmUpAndFailsWithIt() {
        assertEquals(Launcher.EXIT_OK, Launcher.train("echo", List.of(), Map.of(), err));
        assertEquals(Launcher.EXIT_OK, Launcher.train(Judge.class.getName(), List.of("1"), Map.of(), err));
        assertEquals("", errBytes.toString(StandardCharsets.UTF_8));
        assertEquals(Launcher.EXIT_HANDLER_FAILED, Launcher.train(ColdForever.class.getName(), List.of("x"), Map.of(), err));
        assertEquals(Launcher.EXIT_USAGE, Launcher.train("no.such.Handler", List.of(), Map.of(), err));
    }

    @Test
    void checkAcceptsAHandlerWithoutRunningIt() {
        assertEquals(Launcher.EXIT_OK, Launcher.check(Judge.class.getName(), Map.of(), err));
        assertEquals(Launcher.EXIT_OK, Launcher.check("echo", Map.of(), err));
        assertEquals("", errBytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void checkRefusesWithOneLineWhatCannotServe() {
        for (String name : List.of("no.such.Handler", String.class.getName(), NoDefaultConstructor.class.getName())) {
            errBytes.reset();
            assertEquals(Launcher.EXIT_USAGE, Launcher.check(name, Map.of(), err), name);
            String said = errBytes.toString(StandardCharsets.UTF_8);
            assertTrue(said.startsWith("forkserver worker: ") && said.indexOf('\n') == said.length() - 1, said);
            assertTrue(said.contains(name), said);
        }
        errBytes.reset();
        Launcher.check(String.class.getName(), Map.of(), err);
        assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("does not implement forkserver.handler.Handler"));
    }

    @Test
    void noChannelIsAUsageErrorWithOneLine() {
        assertEquals(Launcher.EXIT_USAGE, Launcher.serve(null, null, null, List.of(), Map.of(), null, err));
        String message = errBytes.toString(StandardCharsets.UTF_8);
        assertEquals(1, message.lines().count(), message);
        assertTrue(message.startsWith("forkserver worker: fd 0 is "), message);
        assertTrue(message.contains("not a connected TCP socket"), message);
    }

    @Test
    void aPipeIsNotAConnection() throws IOException {
        Pipe pipe = Pipe.open();
        assertEquals(Launcher.EXIT_USAGE, Launcher.serve(pipe.source(), "echo", null, List.of(), Map.of(), null, err));
    }

    @Test
    void runsAHandlerNamedByClassWithTheConnectionsFacts() throws IOException {
        try (SocketPair sockets = SocketPair.open()) {
            int status = Launcher.serve(sockets.server(), Greeter.class.getName(), null, List.of(),
                    Map.of("TCPREMOTEIP", "192.0.2.7", "GREETING", "world"), null, err);
            assertEquals(Launcher.EXIT_OK, status, errBytes.toString(StandardCharsets.UTF_8));
            String answer = new String(sockets.client().socket().getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("hello 192.0.2.7 world\n", answer); // and then end of stream: shut down
        }
    }

    @Test
    void fallsBackToTheSocketsOwnAddressWithoutEnvironment() throws IOException {
        try (SocketPair sockets = SocketPair.open()) {
            SocketConnection connection = new SocketConnection(sockets.server(), Map.of("REMOTE_PORT", "4711"));
            assertEquals("127.0.0.1", connection.remoteIp());
            assertEquals(4711, connection.remotePort());
            assertEquals(sockets.client().socket().getPort(), connection.localPort());
        }
    }

    /** systemd (Accept=yes) sets REMOTE_ADDR and REMOTE_PORT and no UCSPI variable. */
    @Test
    void readsSystemdsVariablesWhenTheUcspiOnesAreAbsent() throws IOException {
        try (SocketPair sockets = SocketPair.open()) {
            SocketConnection connection = new SocketConnection(sockets.server(), Map.of("REMOTE_ADDR", "192.0.2.9", "REMOTE_PORT", "4711"));
            assertEquals("192.0.2.9", connection.remoteIp());
            assertEquals(4711, connection.remotePort());
        }
    }

    @Test
    void anUnknownHandlerIsAUsageErrorAndNothingReachesTheClient() throws IOException {
        try (SocketPair sockets = SocketPair.open()) {
            assertEquals(Launcher.EXIT_USAGE, Launcher.serve(sockets.server(), "no.such.Handler", null, List.of(), Map.of(), null, err));
            assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("unknown handler 'no.such.Handler'"));
            assertEquals(0, sockets.client().socket().getInputStream().readAllBytes().length);
        }
    }

    @Test
    void aFailingHandlerIsLoggedOnStderrOnly() throws IOException {
        try (SocketPair sockets = SocketPair.open()) {
            assertEquals(Launcher.EXIT_HANDLER_FAILED, Launcher.serve(sockets.server(), Broken.class.getName(), null, List.of(), Map.of(), null, err));
            assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("broken on purpose"));
            assertEquals(0, sockets.client().socket().getInputStream().readAllBytes().length);
        }
    }
}
