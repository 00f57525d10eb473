package forkserver.supervisor;

import forkserver.testkit.ConnectionFactsHandler;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A client's session through bin/supervisor and the default worker, as the README shows it. */
class EchoSessionIT {

    private static ServerProcess supervisor;
    private static InetSocketAddress address;

    @BeforeAll
    static void start() {
        supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0");
        address = supervisor.awaitListening();
    }

    @AfterAll
    static void stop() {
        supervisor.close();
    }

    @Test
    void echoesLinesThenSaysByeAndCloses() {
        try (EchoClient client = EchoClient.connect(address)) {
            assertEquals("hello", client.roundTrip("hello"));
            assertEquals("second line", client.roundTrip("second line"));
            assertEquals("bye!", client.roundTrip("done"));
            assertTrue(client.atEndOfStream());
            long pid = supervisor.awaitChildPidOf(client.localPort());
            supervisor.awaitMatch(Pattern.compile("end pid=" + pid + " status=0 duration=\\d+\\.\\d{3}s"));
            supervisor.assertHoldsNoConnection();
        }
    }

    @Test
    void endOfInputEndsTheSession() {
        try (EchoClient client = EchoClient.connect(address)) {
            assertEquals("ping", client.roundTrip("ping"));
            client.shutdownOutput();
            assertTrue(client.atEndOfStream());
            long pid = supervisor.awaitChildPidOf(client.localPort());
            supervisor.awaitMatch(Pattern.compile("end pid=" + pid + " status=0"));
        }
    }

    @Test
    void logsEachChildsStartWithItsAddresses() {
        try (EchoClient client = EchoClient.connect(address)) {
            assertEquals("x", client.roundTrip("x"));
            supervisor.awaitMatch(Pattern.compile("start pid=\\d+ remote=127\\.0\\.0\\.1:" + client.localPort()
                    + " local=127\\.0\\.0\\.1:" + address.getPort() + " children=\\d+/40"));
        }
    }

    @Test
    void theWorkerSeesTheConnectionsFactsAndTheRulesVariablesAndNothingElseReachesTheClient() {
        // The handler answers with what its Connection says (from the environment the
        // supervisor built), then ends: the client reads that one line and end of stream.
        try (ServerProcess facts = ServerProcess.supervisor(ConnectionFactsHandler.environment(),
                "--listen", "127.0.0.1:0", "--allow", "127.0.0.1 RULE=local");
             EchoClient client = EchoClient.connect(facts.awaitListening())) {
            int server = facts.awaitListening().getPort();
            assertEquals("127.0.0.1 " + client.localPort() + " 127.0.0.1 " + server + " 0 local", client.readLine());
            assertEquals("", client.readToEnd());
        }
    }
}
