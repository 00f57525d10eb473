package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --over-limit reject}: a client over the limit reads the reject message, then end of stream. */
class RejectIT {

    @Test
    void aClientOverMaxChildrenReadsTheMessageAndTheReasonIsLogged() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "-c", "1",
                "--over-limit", "reject", "--reject-message", "busy ({reason}), try later", "--stdio", "inout", "--", "cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient served = EchoClient.connect(address)) {
                assertEquals("first", served.roundTrip("first"));
                try (EchoClient rejected = EchoClient.connect(address)) {
                    assertEquals("busy (max-children), try later", rejected.readLine());
                    assertTrue(rejected.atEndOfStream());
                    supervisor.awaitMatch(Pattern.compile("reject remote=127\\.0\\.0\\.1:" + rejected.localPort()
                            + " local=\\S+ reason=max-children children=1/1"));
                }
                supervisor.assertHoldsNoConnection(); // neither the refused one nor the one its child serves
                assertEquals("unharmed", served.roundTrip("unharmed"));
            }
        }
    }

    @Test
    void theRateRejectsTooWithItsOwnReason() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--rate", "1/1h",
                "--over-limit", "reject", "--stdio", "inout", "--", "/bin/sh", "-c", "echo served")) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient first = EchoClient.connect(address)) {
                assertEquals("served", first.readLine());
            }
            try (EchoClient second = EchoClient.connect(address)) {
                assertEquals("refused: rate", second.readLine(), "the default message");
                assertTrue(second.atEndOfStream());
            }
            supervisor.awaitMatch(Pattern.compile("reject remote=\\S+ local=\\S+ reason=rate"));
        }
    }
}
