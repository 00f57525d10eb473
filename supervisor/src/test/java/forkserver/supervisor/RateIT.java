package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --rate N/DURATION}: a burst is served, then accepting pauses until tokens return, never for good. */
class RateIT {

    @Test
    void aBurstAboveTheRateIsPausedThenEveryClientIsServed() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--rate", "2/1s",
                "--stdio", "inout", "--", "/bin/sh", "-c", "echo served")) {
            InetSocketAddress address = supervisor.awaitListening();
            List<EchoClient> clients = new ArrayList<>();
            try {
                long began = System.nanoTime();
                for (int i = 0; i < 5; i++) {
                    clients.add(EchoClient.connect(address)); // the kernel completes the handshake: backlog
                }
                for (EchoClient client : clients) {
                    assertEquals("served", client.readLine(), "served once tokens returned");
                }
                double seconds = (System.nanoTime() - began) / 1e9;
                // Two at once, then one every 500 ms: five need at least 1.5 s; a lower bound only.
                assertTrue(seconds >= 1.4, "five clients served in " + seconds + " s at 2/1s");
                supervisor.awaitMatch(Pattern.compile("paused reason=rate next-in=0\\.\\d{3}s"));
                // Three clients waited for a token each. A line per token would be three; a line per
                // dry spell is one, or two when starts are slower than the tokens return (a loaded
                // machine: a token came back while a child was starting, so the spell ended).
                int pauses = supervisor.matches(Pattern.compile("paused ")).size();
                assertTrue(pauses >= 1 && pauses < 3, pauses + " paused lines: one per dry spell, not per token");
                assertEquals(0, supervisor.matches(Pattern.compile("reject ")).size(), "nobody rejected in wait mode");
            } finally {
                clients.forEach(EchoClient::close);
            }
            // Later connections are served again: the service was paused, not switched off.
            try (EchoClient later = EchoClient.connect(address)) {
                assertEquals("served", later.readLine());
            }
        }
    }
}
