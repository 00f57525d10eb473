package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.regex.Pattern;

import static forkserver.supervisor.PerSourceIT.FIRST;
import static forkserver.supervisor.PerSourceIT.SECOND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SIGUSR1: one status line with the children, the busiest sources and the totals since start. */
class StatusIT {

    @Test
    void theStatusLineCountsChildrenSourcesRejectionsAndExits() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "-c", "10", "-C", "2",
                "--stdio", "inout", "--", "cat")) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient a1 = EchoClient.connect(address, FIRST);
                 EchoClient a2 = EchoClient.connect(address, FIRST);
                 EchoClient b1 = EchoClient.connect(address, SECOND)) {
                for (EchoClient client : new EchoClient[] {a1, a2, b1}) {
                    assertEquals("up", client.roundTrip("up"));
                }
                try (EchoClient over = EchoClient.connect(address, FIRST)) {
                    assertTrue(over.atEndOfStream());
                }
                try (EchoClient leaving = EchoClient.connect(address, SECOND)) {
                    assertEquals("up", leaving.roundTrip("up"));
                    leaving.shutdownOutput();
                    assertTrue(leaving.atEndOfStream());
                }
                supervisor.awaitMatch(Pattern.compile("end pid=\\d+ status=0"));

                // Boxed (as root here), the line adds the connections' totals: the one that ended
                // cost some CPU and memory, and left nothing behind.
                boolean boxed = supervisor.awaitMatch(Pattern.compile("connections are (not )?boxed")).group(1) == null;
                supervisor.signal("USR1");
                supervisor.awaitMatch(Pattern.compile("forkserver: status children=3/10 top=127\\.0\\.0\\.1:2,127\\.0\\.0\\.2:1"
                        + " accepted=5 rejected=max-per-source:1 exited=status-0:1"
                        + (boxed ? " cpu=\\d+\\.\\d{3}s memory-peak-max=\\d+(\\.\\d)?(B|KiB|MiB) oom-kills=0 leftovers=0" : "") + "$"));
            }
        }
    }
}
