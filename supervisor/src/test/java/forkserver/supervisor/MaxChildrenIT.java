package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code -c N}: at the limit the supervisor stops accepting and clients wait in the backlog. */
class MaxChildrenIT {

    private static final Pattern START = Pattern.compile("start pid=\\d+ .* children=(\\d+)/4");

    @Test
    void aBurstOfEightWithMaxFourRunsFourAtATimeAndServesAll() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "-c", "4")) {
            InetSocketAddress address = supervisor.awaitListening();
            List<EchoClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    clients.add(EchoClient.connect(address).send("client " + i));
                }
                // Four children start and answer; the others are still in the backlog.
                List<Matcher> firstStarts = supervisor.awaitMatches(START, 4);
                List<EchoClient> served = new ArrayList<>();
                List<EchoClient> waiting = new ArrayList<>();
                for (EchoClient client : clients) {
                    boolean started = firstStarts.stream()
                            .anyMatch(m -> m.group().contains("remote=127.0.0.1:" + client.localPort() + " "));
                    (started ? served : waiting).add(client);
                }
                assertEquals(4, served.size(), "clients with a child");
                for (EchoClient client : served) {
                    assertTrue(client.readLine().startsWith("client "));
                }
                // Held for a second: nobody else gets a child while the four are open.
                for (EchoClient client : waiting) {
                    assertNull(client.readLineWithin(250), "a fifth client was served above the limit");
                }
                assertEquals(4, supervisor.matches(START).size());

                for (EchoClient client : served) {
                    assertEquals("bye!", client.roundTrip("done"));
                }
                for (EchoClient client : waiting) {
                    assertTrue(client.readLine().startsWith("client "), "served once a slot was free");
                    assertEquals("bye!", client.roundTrip("done"));
                }
                List<Matcher> starts = supervisor.awaitMatches(START, 8);
                for (Matcher start : starts) {
                    assertTrue(Integer.parseInt(start.group(1)) <= 4, "children above the limit: " + start.group());
                }
                Await.until("all eight children to end", () -> supervisor.matches(Pattern.compile("end pid=")).size() == 8);
            } finally {
                clients.forEach(EchoClient::close);
            }
        }
    }
}
