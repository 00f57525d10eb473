package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --max-lifetime}: SIGTERM when it passes, SIGKILL after {@code --kill-grace}; logged with the reason. */
class LifetimeIT {

    @Test
    void aChildPastItsLifetimeGetsTerm() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--max-lifetime", "1s",
                "--stdio", "inout", "--", "/bin/sh", "-c", "echo ready; exec sleep 300");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("ready", client.readLine());
            assertTrue(client.atEndOfStream());
            supervisor.awaitMatch(Pattern.compile("terminate pid=\\d+ signal=TERM reason=max-lifetime"));
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ signal=TERM duration=\\S+ .* reason=max-lifetime$"));
        }
    }

    @Test
    void aChildThatIgnoresTermIsKilledAfterTheKillGrace() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--max-lifetime", "500ms",
                "--kill-grace", "1s", "--stdio", "inout", "--", "/bin/sh", "-c", "trap '' TERM; echo ready; sleep 300 & wait");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("ready", client.readLine());
            supervisor.awaitMatch(Pattern.compile("terminate pid=\\d+ signal=KILL reason=max-lifetime"));
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ signal=KILL .* reason=max-lifetime$"));
            assertTrue(client.atEndOfStream());
        }
    }
}
