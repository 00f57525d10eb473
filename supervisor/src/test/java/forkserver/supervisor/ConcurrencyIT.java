package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Many clients at once: each has its own process, and the processes are isolated. */
class ConcurrencyIT {

    @Test
    void twentyConcurrentClientsEachGetTheirOwnChildAndTheirOwnEcho() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0")) {
            InetSocketAddress address = supervisor.awaitListening();
            List<EchoClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 20; i++) {
                    clients.add(EchoClient.connect(address));
                }
                for (int i = 0; i < clients.size(); i++) {
                    clients.get(i).send("client " + i + " says hi");
                }
                Set<Long> pids = new HashSet<>();
                for (int i = 0; i < clients.size(); i++) {
                    assertEquals("client " + i + " says hi", clients.get(i).readLine());
                    pids.add(supervisor.awaitChildPidOf(clients.get(i).localPort()));
                }
                assertEquals(20, pids.size(), "distinct child pids");
                // All twenty sessions are open at once, each in its own live process.
                assertEquals(20, supervisor.descendants().stream().filter(p -> pids.contains(p.pid())).count());
                for (EchoClient client : clients) {
                    assertEquals("bye!", client.roundTrip("done"));
                }
            } finally {
                clients.forEach(EchoClient::close);
            }
        }
    }

    @Test
    void killingOneChildLeavesTheOtherSessionsWorking() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0");
             EchoClient victim = EchoClient.connect(supervisor.awaitListening());
             EchoClient bystander = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("before", victim.roundTrip("before"));
            assertEquals("before", bystander.roundTrip("before"));
            long victimPid = supervisor.awaitChildPidOf(victim.localPort());

            ServerProcess.signal(victimPid, "KILL");

            assertTrue(victim.atEndOfStream(), "the killed child's client sees its connection end");
            supervisor.awaitMatch(Pattern.compile("end pid=" + victimPid + " signal=KILL"));
            assertEquals("after", bystander.roundTrip("after"));
            try (EchoClient newcomer = EchoClient.connect(supervisor.awaitListening())) {
                assertEquals("new", newcomer.roundTrip("new"));
            }
            assertEquals("bye!", bystander.roundTrip("done"));
        }
    }
}
