package forkserver.worker;

import forkserver.testkit.Activators;
import forkserver.testkit.ChattyEchoHandler;
import forkserver.testkit.Deploy;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * bin/worker alone, one process per connection, spawned by the real activators: systemd's
 * {@code Accept=yes} (as systemd-socket-activate --inetd -a does it), openbsd-inetd
 * {@code nowait} and xinetd, where fds 0, 1 and 2 are all the client's socket.
 */
class WorkerActivationIT {

    private static final int SESSIONS = 5;

    @Test
    void systemdAcceptYesServesConcurrentSessionsEachInItsOwnWorker() {
        try (Activators.Started activator = Activators.systemdSocketActivate(
                List.of("--inetd", "-a"), List.of(Project.bin("worker")), Map.of())) {
            concurrentEchoSessions(activator.address());
            // "Spawned bin/worker (bin/worker) as PID 1234."
            assertEquals(SESSIONS, activator.process().matches(Pattern.compile("Spawned .*worker.* as PID \\d+")).size(),
                    "one worker per connection: " + activator.process().stderr());
        }
    }

    /**
     * As the shipped forkserver-worker@.service has it: the connection on fds 0 and 1
     * (StandardOutput=socket), stderr to the journal (here: the activator's stderr). What a
     * handler prints on System.out goes with stderr, not to the client.
     */
    @Test
    void underSystemdAcceptYesStdoutGoesWhereStderrGoes() throws IOException {
        Map<String, String> env = Map.of(
                "FORKSERVER_WORKER_CLASSPATH", Project.home().resolve("worker/target/test-classes").toString(),
                "FORKSERVER_HANDLER", ChattyEchoHandler.class.getName());
        List<String> workerOnFdsZeroAndOne = List.of("/bin/sh", "-c", "exec \"$0\" >&0", Project.bin("worker"));
        try (Activators.Started activator = Activators.systemdSocketActivate(List.of("--inetd", "-a"), workerOnFdsZeroAndOne, env);
             EchoClient client = EchoClient.connect(activator.address())) {
            client.send("hello").send("done");
            assertEquals("hello\nbye!\n", everything(client), "only protocol bytes, then end of stream");
            activator.process().awaitMatch(Pattern.compile(Pattern.quote(ChattyEchoHandler.DIAGNOSTIC + " on System.out")));
            activator.process().awaitMatch(Pattern.compile(Pattern.quote(ChattyEchoHandler.DIAGNOSTIC + " on System.err")));
        }
    }

    /** With the line shipped in deploy/inetd/inetd.conf. */
    @Test
    void inetdNowaitServesConcurrentSessionsEachInItsOwnWorker(@TempDir Path directory) {
        try (Activators.Started inetd = Activators.inetd(directory, Deploy.inetdLine("nowait"))) {
            concurrentEchoSessions(inetd.address());
            // inetd -d says "1234 execv /usr/bin/env" for each child it starts.
            assertEquals(SESSIONS, inetd.process().matches(Pattern.compile("^\\d+ execv ")).size(),
                    "one worker per connection: " + inetd.process().stderr());
        }
    }

    /** With the service file shipped in deploy/xinetd, and the chatty handler: only protocol bytes. */
    @Test
    void xinetdServesConcurrentSessionsWithTheShippedServiceFile(@TempDir Path directory) throws IOException {
        String service = Deploy.localized("xinetd/forkserver-worker")
                .replaceAll("user\\s*= \\S+", "user = " + System.getProperty("user.name"));
        try (Activators.Started xinetd = Activators.xinetd(directory,
                port -> service.replaceAll("port\\s*= \\d+", "port = " + port))) {
            concurrentEchoSessions(xinetd.address());
        }
        String chatty = service.replace("FORKSERVER_WORKER_LOG=syslog", "FORKSERVER_WORKER_CLASSPATH="
                + Project.home().resolve("worker/target/test-classes") + " FORKSERVER_HANDLER=" + ChattyEchoHandler.class.getName());
        try (Activators.Started xinetd = Activators.xinetd(directory,
                port -> chatty.replaceAll("port\\s*= \\d+", "port = " + port));
             EchoClient client = EchoClient.connect(xinetd.address())) {
            client.send("hello").send("done");
            assertEquals("hello\nbye!\n", everything(client), "only protocol bytes, then end of stream");
        }
    }

    /**
     * Under inetd a handler's System.out and System.err are the client's socket unless bin/worker
     * moves them off it: the client must read the echo protocol and nothing else, whichever way
     * FORKSERVER_WORKER_LOG sends diagnostics.
     */
    @ParameterizedTest
    @ValueSource(strings = {"drop", "syslog"})
    void underInetdAHandlersDiagnosticsNeverReachTheClient(String log, @TempDir Path directory) throws IOException {
        Map<String, String> env = Map.of(
                "FORKSERVER_WORKER_LOG", log,
                "FORKSERVER_WORKER_CLASSPATH", Project.home().resolve("worker/target/test-classes").toString(),
                "FORKSERVER_HANDLER", ChattyEchoHandler.class.getName());
        try (Activators.Started inetd = Activators.inetd(directory, nowait(env));
             EchoClient client = EchoClient.connect(inetd.address())) {
            client.send("hello").send("done");
            assertEquals("hello\nbye!\n", everything(client), "only protocol bytes, then end of stream");
        }
    }

    /** The worker's own error path (an unknown handler): one line for the operator, none for the client. */
    @Test
    void underInetdTheWorkersOwnErrorNeverReachesTheClient(@TempDir Path directory) throws IOException {
        try (Activators.Started inetd = Activators.inetd(directory, nowait(Map.of("FORKSERVER_HANDLER", "no.such.Handler")));
             EchoClient client = EchoClient.connect(inetd.address())) {
            client.send("hello");
            assertEquals("", everything(client), "end of stream, not an error message");
        }
    }

    /** A FORKSERVER_WORKER_LOG that means nothing: the worker refuses to serve, silently for the client. */
    @Test
    void underInetdABadLogSettingIsRefusedWithoutAByteToTheClient(@TempDir Path directory) throws IOException {
        try (Activators.Started inetd = Activators.inetd(directory, nowait(Map.of("FORKSERVER_WORKER_LOG", "loud")));
             EchoClient client = EchoClient.connect(inetd.address())) {
            // Nothing sent: unread input would turn the worker's exit into a reset.
            assertEquals("", everything(client));
            inetd.process().awaitMatch(Pattern.compile("reaped, status 200")); // exit status 2, as inetd -d prints it
        }
    }

    /**
     * The inetd.conf line's fields after {@code stream tcp}: nowait, this user, and bin/worker
     * under env(1), since inetd launders its children's environment.
     */
    private static String nowait(Map<String, String> env) {
        StringBuilder line = new StringBuilder("nowait " + System.getProperty("user.name") + " /usr/bin/env env");
        line.append(" JAVA_HOME=").append(Project.javaHome());
        env.forEach((name, value) -> line.append(' ').append(name).append('=').append(value));
        return line.append(' ').append(Project.bin("worker")).toString(); // env(1) gives it argv[0]
    }

    private static void concurrentEchoSessions(InetSocketAddress address) {
        List<EchoClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < SESSIONS; i++) {
                clients.add(EchoClient.connect(address));
            }
            for (int i = 0; i < SESSIONS; i++) {
                clients.get(i).send("session " + i);
            }
            for (int i = 0; i < SESSIONS; i++) {
                assertEquals("session " + i, clients.get(i).readLine());
            }
            for (EchoClient client : clients) {
                assertEquals("bye!", client.roundTrip("done"));
                assertEquals(null, client.readLine(), "the worker ends the session");
            }
        } finally {
            clients.forEach(EchoClient::close);
        }
    }

    /** Every byte the server sends until it closes the connection. */
    private static String everything(EchoClient client) throws IOException {
        InputStream in = client.socket().getInputStream();
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
