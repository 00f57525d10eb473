package forkserver.supervisor;

import forkserver.testkit.Activators;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every accepted connection has TCP keepalive, so that a client that vanished without a word is
 * found within minutes and its child's slot freed: the child itself reads its fd 0's options
 * (perl's getsockopt), on a socket the supervisor bound and on one an activator passed.
 */
class KeepaliveIT {

    private static final List<String> REPORT_OPTIONS = List.of("/usr/bin/perl", "-MSocket=:all", "-e", """
            open(my $s, "+<&=", 0) or die "fd 0: $!";
            my @v = map { unpack("i", getsockopt($s, $_->[0], $_->[1])) }
                ([SOL_SOCKET, SO_KEEPALIVE], [IPPROTO_TCP, TCP_KEEPIDLE], [IPPROTO_TCP, TCP_KEEPINTVL], [IPPROTO_TCP, TCP_KEEPCNT]);
            print "keepalive=$v[0] idle=$v[1] interval=$v[2] probes=$v[3]\\n";
            """);

    private static final String EXPECTED = "keepalive=1 idle=60 interval=10 probes=6";

    @Test
    void aConnectionOnTheSocketTheSupervisorBoundHasKeepalive() {
        List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0", "--"));
        args.addAll(REPORT_OPTIONS);
        try (ServerProcess supervisor = ServerProcess.supervisor(args.toArray(String[]::new));
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals(EXPECTED, client.readLine());
        }
    }

    @Test
    void aConnectionOnASocketFromSystemdHasKeepalive() {
        List<String> command = new ArrayList<>(List.of(Project.bin("supervisor"), "--"));
        command.addAll(REPORT_OPTIONS);
        try (Activators.Started activator = Activators.systemdSocketActivate(List.of(), command, Map.of());
             EchoClient client = EchoClient.connect(activator.address())) {
            assertEquals(EXPECTED, client.readLine());
        }
    }
}
