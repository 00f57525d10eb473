package forkserver.supervisor;

import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code --reuse-port}: two supervisors listen on one port and the kernel spreads clients between them. */
class ReusePortIT {

    private static final Pattern START = Pattern.compile("start pid=");

    @Test
    void twoSupervisorsShareOnePort() {
        try (ServerProcess first = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--reuse-port",
                "--stdio", "inout", "--", "/bin/sh", "-c", "echo served")) {
            InetSocketAddress address = first.awaitListening();
            try (ServerProcess second = ServerProcess.supervisor("--listen", "127.0.0.1:" + address.getPort(), "--reuse-port",
                    "--stdio", "inout", "--", "/bin/sh", "-c", "echo served")) {
                assertEquals(address, second.awaitListening());
                // The kernel picks by a hash of the client's address and port: a few clients reach both.
                Await.until("both supervisors to serve a client", () -> {
                    try (EchoClient client = EchoClient.connect(address)) {
                        assertEquals("served", client.readLine());
                    }
                    return !first.matches(START).isEmpty() && !second.matches(START).isEmpty();
                });
            }
        }
    }
}
