package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --idle-timeout}: forkserver's worker closes a connection whose client stopped sending. */
class IdleTimeoutIT {

    @Test
    void aSilentClientIsClosedAndTheWorkerExitsThree() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--idle-timeout", "1s");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("hello", client.roundTrip("hello"));
            long before = System.nanoTime();
            assertTrue(client.atEndOfStream(), "closed by the worker");
            double waited = (System.nanoTime() - before) / 1e9;
            assertTrue(waited >= 0.9, "closed after " + waited + " s of silence, not 1 s");
            supervisor.awaitMatch(Pattern.compile("forkserver worker: no input for 1\\.\\d{3}s, closing the connection"));
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ status=3 "));
        }
    }

    @Test
    void aClientThatKeepsTalkingIsNotClosed() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--idle-timeout", "1s");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            long until = System.nanoTime() + 2_500_000_000L;
            while (System.nanoTime() < until) {
                assertEquals("tick", client.roundTrip("tick"));
                assertEquals(null, client.readLineWithin(400), "nothing but the echo");
            }
            assertEquals("bye!", client.roundTrip("done"));
            supervisor.awaitMatch(Pattern.compile("end pid=\\d+ status=0 "));
        }
    }
}
