package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.Descriptors;
import forkserver.testkit.EchoClient;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Out of descriptors (RLIMIT_NOFILE through prlimit): the start-up check says the limit cannot
 * be reached; then, past it, the supervisor still serves: a child it can open no pidfd for is
 * watched by polling, and the JDK always finds the descriptors its start needs (a reserve kept
 * for it: a JDK whose pipe(2) fails halfway leaks the pipe it had). Nothing leaks: once the
 * children end, the supervisor holds what it held at rest.
 */
class DescriptorLimitIT {

    private static final int DESCRIPTORS = 48;
    private static final int SESSIONS = 60;

    @Test
    void pastItsDescriptorLimitTheSupervisorStillServesAndLeaksNothing() {
        List<String> command = List.of("prlimit", "--nofile=" + DESCRIPTORS + ":" + DESCRIPTORS, "--",
                Project.bin("supervisor"), "--listen", "127.0.0.1:0", "-c", "100", "--stdio", "inout",
                "--over-limit", "reject", "--", "/bin/cat");
        List<EchoClient> served = new ArrayList<>();
        try (ServerProcess supervisor = ServerProcess.start(command, Map.of())) {
            InetSocketAddress address = supervisor.awaitListening();
            supervisor.awaitMatch(Pattern.compile("limit-too-low resource=descriptors source=RLIMIT_NOFILE limit="
                    + DESCRIPTORS + " needed=\\d+ "));
            int atRest = descriptorsOf(supervisor.pid());
            for (int i = 0; i < SESSIONS; i++) {
                EchoClient client = EchoClient.connect(address);
                served.add(client);
                assertEquals("line " + i, client.roundTrip("line " + i), "session " + i + " of " + SESSIONS);
            }
            assertTrue(descriptorsOf(supervisor.pid()) <= DESCRIPTORS);
            for (EchoClient client : served) {
                client.shutdownOutput();
                assertEquals("", client.readToEnd(), "its echo only");
                client.close();
            }
            served.clear();
            Await.until("every end line", () -> supervisor.matches(Pattern.compile("end pid=\\d+ status=0")).size() == SESSIONS);
            Await.until("the supervisor's descriptors to be what they were at rest", Duration.ofSeconds(30),
                    () -> descriptorsOf(supervisor.pid()) <= atRest);
            supervisor.signal("TERM");
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
            assertTrue(supervisor.matches(Pattern.compile("spawn-failed|fatal")).isEmpty(), supervisor.stderr().toString());
        } finally {
            served.forEach(EchoClient::close);
        }
    }

    private static int descriptorsOf(long pid) {
        try {
            return Descriptors.of(pid).size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
