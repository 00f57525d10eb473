package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Limited;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Out of processes and threads: an unprivileged supervisor under a real task limit (the user's
 * RLIMIT_NPROC through prlimit, or a cgroup's pids.max), where every child costs two tasks (the
 * child, and the JDK's reaper thread in the supervisor). Each spawn that fails costs its client
 * only: the client is told and closed, the supervisor stays up, serves again once children end,
 * leaves no orphan and no zombie, prints no stack trace, and no byte of its JVM's warnings
 * reaches a client. Both ways the limit bites are met: the fork refused (EAGAIN), and the fork
 * done but the JDK's reaper thread refused (the child is then served and reaped by the
 * supervisor, "task-limit").
 */
class TaskLimitIT {

    /** Tasks for the supervisor's JVM (about 20 threads) and a dozen children. */
    private static final int TASKS = 51;
    /** Processes the test can end one by one to give the supervisor exactly one task back. */
    private static final int SPACERS = 6;
    /** A JVM whose own threads stay put: no compiler thread starts or ends with the load. */
    private static final Map<String, String> STEADY_THREADS =
            Map.of("FORKSERVER_JAVA_OPTS", "-XX:-UseDynamicNumberOfCompilerThreads");

    private static final Pattern REFUSED = Pattern.compile("spawn-failed remote=\\S+ local=\\S+ reason=EAGAIN ");
    private static final Pattern TASK_LIMIT = Pattern.compile("task-limit pid=(\\d+) reason=EAGAIN ");

    @Test
    void underTheUsersTaskLimitAFailedSpawnCostsOneClientAndServiceResumes() {
        assumeTrue(Limited.root(), "setpriv and prlimit for another user need root");
        List<Process> spacers = new ArrayList<>();
        for (int i = 0; i < SPACERS; i++) {
            spacers.add(start(Limited.asUser(List.of("/bin/sleep", "600"))));
        }
        try (ServerProcess supervisor = ServerProcess.start(Limited.asUserWithTasks(TASKS, supervisorCommand()), STEADY_THREADS)) {
            exhaustAndRecover(supervisor, "RLIMIT_NPROC", spacers);
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
        } finally {
            spacers.forEach(Process::destroyForcibly);
        }
        Await.until("no process of uid " + Limited.UID + " left, no orphan", () -> Limited.processesOfUser().isEmpty());
    }

    @Test
    void underACgroupsPidsMaxAFailedSpawnCostsOneClientAndServiceResumes() {
        assumeTrue(Limited.root(), "making a cgroup needs root");
        Limited.PidsCgroup cgroup = Limited.pidsCgroup("forkserver-test-" + ProcessHandle.current().pid(), TASKS);
        assumeTrue(cgroup != null, "this machine lets no test make a pids cgroup");
        try (cgroup) {
            List<Process> spacers = new ArrayList<>();
            for (int i = 0; i < SPACERS; i++) {
                spacers.add(start(cgroup.inside(List.of("/bin/sleep", "600"))));
            }
            try (ServerProcess supervisor = ServerProcess.start(cgroup.inside(supervisorCommand()), STEADY_THREADS)) {
                exhaustAndRecover(supervisor, "pids.max", spacers);
                assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
            } finally {
                spacers.forEach(Process::destroyForcibly);
            }
        }
    }

    private static List<String> supervisorCommand() {
        return List.of(Project.bin("supervisor"), "--listen", "127.0.0.1:0", "-c", "200", "--stdio", "inout",
                "--over-limit", "reject", "--", "/bin/cat");
    }

    /** The scenario, whichever limit applies; ends with SIGTERM sent. */
    private static void exhaustAndRecover(ServerProcess supervisor, String limitSource, List<Process> spacers) {
        InetSocketAddress address = supervisor.awaitListening();
        supervisor.awaitMatch(Pattern.compile("limit-too-low resource=tasks source=" + Pattern.quote(limitSource)
                + ".* limit=" + TASKS + " needed=\\d+ "));
        List<Session> served = new ArrayList<>();
        try {
            // Children until the limit refuses one: that client is told and closed.
            Session refused = null;
            for (int i = 0; i < 4 * TASKS && refused == null; i++) {
                Session session = Session.open(address, "line " + i);
                if (session.served()) {
                    served.add(session);
                } else {
                    refused = session;
                }
            }
            assertTrue(refused != null, "the task limit never refused a child");
            refused.assertRefused();
            supervisor.awaitMatch(REFUSED);
            assertTrue(supervisor.isAlive());

            // One task given back at a time, until a fork succeeds but the JDK's reaper thread
            // cannot start: that child is still served (and later reaped) by the supervisor. (The
            // JVM's own threads may come and go meanwhile: a client may be served whole, or
            // refused again; each is checked.)
            for (int i = 0; i < spacers.size() && supervisor.matches(TASK_LIMIT).isEmpty(); i++) {
                Process spacer = spacers.get(i);
                spacer.destroyForcibly();
                Await.until("a spacer to end", () -> !spacer.isAlive());
                Session session = Session.open(address, "after spacer " + i);
                if (session.served()) {
                    served.add(session);
                } else {
                    session.assertRefused();
                    session.close();
                }
            }
            supervisor.awaitMatch(TASK_LIMIT);
            assertTrue(supervisor.stderr().stream().anyMatch(line -> line.contains("Failed to start thread")),
                    "the JVM warned on stderr that its thread could not start");
            // Still at the limit: refused again, told again.
            Session again = Session.open(address, "at the limit");
            if (again.served()) {
                served.add(again);
            } else {
                again.assertRefused();
            }

            // Every served client got exactly its own bytes and nothing else: no JVM warning.
            for (Session session : served) {
                session.assertOnlyItsEcho();
            }
            served.clear();
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ .*children=0/200"));
            assertTrue(Limited.zombieChildrenOf(supervisor.pid()).isEmpty(), "no zombie child");

            // Children ended, tasks are back: served again (after the backoff, a second at most).
            Await.until("a client to be served again", () -> {
                Session session = Session.open(address, "served again");
                boolean ok = session.served();
                session.close();
                return ok;
            });
        } finally {
            served.forEach(Session::close);
        }
        List<String> stderr = supervisor.stderr();
        assertFalse(stderr.stream().anyMatch(line -> line.startsWith("Exception in thread") || line.startsWith("\tat ")),
                "no stack trace: " + stderr);
        assertFalse(stderr.stream().anyMatch(line -> line.contains("fatal")), "nothing fatal: " + stderr);
        supervisor.signal("TERM");
    }

    private static Process start(List<String> command) {
        try {
            return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One client: sends a line, reads one answer: its echo, or the refusal. */
    private static final class Session implements AutoCloseable {
        final EchoClient client;
        final String line;
        final String answer;

        private Session(EchoClient client, String line) {
            this.client = client;
            this.line = line;
            this.answer = client.roundTrip(line);
        }

        static Session open(InetSocketAddress address, String line) {
            return new Session(EchoClient.connect(address), line);
        }

        boolean served() {
            return line.equals(answer);
        }

        void assertRefused() {
            assertEquals("refused: spawn-failed", answer);
            assertOnlyThat("");
        }

        /** After its echo: end of input; the child ends; nothing more comes but end of stream. */
        void assertOnlyItsEcho() {
            client.shutdownOutput();
            assertOnlyThat("");
        }

        private void assertOnlyThat(String expectedRest) {
            assertEquals(expectedRest, client.readToEnd(), "after '" + answer + "', the client read only end of stream");
        }

        @Override
        public void close() {
            client.close();
        }
    }
}
