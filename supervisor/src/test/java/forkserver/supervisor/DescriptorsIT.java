package forkserver.supervisor;

import forkserver.testkit.Descriptors;
import forkserver.testkit.EchoClient;
import forkserver.testkit.FdListing;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A child holds its own connection and stdio, and no other socket: not the listener, not another client's. */
class DescriptorsIT {

    @Test
    void aWorkerHoldsOnlyItsConnectionAndStdio() throws IOException {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0");
             EchoClient first = EchoClient.connect(supervisor.awaitListening());
             EchoClient second = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("a", first.roundTrip("a"));
            assertEquals("b", second.roundTrip("b"));
            for (EchoClient client : List.of(first, second)) {
                Map<Integer, String> fds = Descriptors.of(supervisor.awaitChildPidOf(client.localPort()));
                String connection = fds.get(0);
                assertTrue(connection.startsWith("socket:"), "fd 0 is the connection: " + fds);
                // The JVM opens files of its own (its modules image, the jar, /dev/null), a copy of
                // fd 0 (System.inheritedChannel) and a UNIX socket of its own (NIO's pre-close
                // descriptor). What it must not hold is any other TCP socket: another client's
                // connection or the listening socket.
                Set<String> tcp = Descriptors.tcpSocketInodes();
                fds.forEach((fd, target) -> {
                    if (tcp.contains(target)) {
                        assertEquals(connection, target, "fd " + fd + " is another TCP socket: " + fds);
                    }
                });
                // fd 1 is /dev/null (never the supervisor's stdout); fd 2 a pipe of its own, which
                // the supervisor reads and logs as stderr events (not the supervisor's stderr).
                assertEquals("/dev/null", fds.get(1), "fd 1: " + fds);
                assertTrue(fds.get(2).startsWith("pipe:"), "fd 2 is a pipe: " + fds);
                assertNotEquals(Descriptors.of(supervisor.pid()).get(2), fds.get(2), "not the supervisor's stderr");
            }
        }
    }

    @Test
    void aGenericProgramGetsFdsZeroToTwoAndNothingElse() {
        // The child shell has ls list the shell's descriptors onto the connection (fd 1 with
        // --stdio inout). ls runs in a process of its own, so its own descriptors do not count.
        try (ServerProcess supervisor = ServerProcess.supervisor(
                "--listen", "127.0.0.1:0", "--stdio", "inout", "--", "/bin/sh", "-c", FdListing.LIST_FDS);
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            Map<Integer, String> fds = FdListing.parse(FdListing.linesUntilEnd(client));
            assertEquals(List.of(0, 1, 2), List.copyOf(fds.keySet()), "descriptors: " + fds);
            assertEquals(fds.get(0), fds.get(1), "fd 0 and 1 are the same connection");
            assertTrue(fds.get(0).startsWith("socket:"));
            assertTrue(fds.get(2).startsWith("pipe:"), "stderr is the supervisor's: " + fds);
        }
    }
}
