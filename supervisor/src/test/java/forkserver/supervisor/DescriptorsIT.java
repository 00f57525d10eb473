package forkserver.supervisor;

import forkserver.testkit.Descriptors;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A child holds its own connection and stdio, and no other socket: not the listener, not another client's. */
class DescriptorsIT {

    private static final Pattern LS_LINE = Pattern.compile(" (\\d+) -> (.+)$");

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
                assertTrue(fds.get(1).startsWith("pipe:") && fds.get(2).startsWith("pipe:"),
                        "fds 1 and 2 are the supervisor's stdout and stderr: " + fds);
            }
        }
    }

    @Test
    void aGenericProgramGetsFdsZeroToTwoAndNothingElse() {
        // The child shell has ls list the shell's descriptors onto the connection (fd 1 with
        // --stdio inout). ls runs in a process of its own, so its own descriptors do not count.
        String listFds = "ls -l /proc/$$/fd; echo end";
        try (ServerProcess supervisor = ServerProcess.supervisor(
                "--listen", "127.0.0.1:0", "--stdio", "inout", "--", "/bin/sh", "-c", listFds);
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            List<String> lines = new ArrayList<>();
            for (String line; !(line = client.readLine()).equals("end"); ) {
                lines.add(line);
            }
            Map<Integer, String> fds = new TreeMap<>();
            for (String line : lines) {
                Matcher m = LS_LINE.matcher(line);
                if (m.find()) {
                    fds.put(Integer.parseInt(m.group(1)), m.group(2));
                }
            }
            assertEquals(List.of(0, 1, 2), List.copyOf(fds.keySet()), "descriptors: " + fds);
            assertEquals(fds.get(0), fds.get(1), "fd 0 and 1 are the same connection");
            assertTrue(fds.get(0).startsWith("socket:"));
            assertTrue(fds.get(2).startsWith("pipe:"), "stderr is the supervisor's: " + fds);
        }
    }
}
