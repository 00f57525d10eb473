package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code -C N}: children per client address; 127.0.0.1 and 127.0.0.2 are two sources on loopback. */
public class PerSourceIT {

    static final InetAddress FIRST = InetAddress.ofLiteral("127.0.0.1");
    public static final InetAddress SECOND = InetAddress.ofLiteral("127.0.0.2");

    /** A child that says how many connections its source already had, then echoes. */
    static final String[] COUNTING_CAT = {"--stdio", "inout", "--", "/bin/sh", "-c", "echo \"open=$TCPCONNNUM\"; exec cat"};

    @Test
    void aThirdConnectionFromOneAddressIsRejectedWhileAnotherAddressIsServed() {
        try (ServerProcess supervisor = ServerProcess.supervisor(args("--listen", "127.0.0.1:0", "-C", "2"))) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient first = EchoClient.connect(address, FIRST);
                 EchoClient second = EchoClient.connect(address, FIRST)) {
                assertEquals("open=0", first.readLine());
                assertEquals("open=1", second.readLine());

                try (EchoClient third = EchoClient.connect(address, FIRST)) {
                    // Turned away at once, without a word (--over-limit wait writes no message).
                    assertTrue(third.atEndOfStream());
                    supervisor.awaitMatch(Pattern.compile("reject remote=127\\.0\\.0\\.1:" + third.localPort()
                            + " local=127\\.0\\.0\\.1:\\d+ reason=max-per-source children=2/40"));
                }
                try (EchoClient other = EchoClient.connect(address, SECOND)) {
                    assertEquals("open=0", other.readLine(), "another source has its own count");
                    assertEquals("hello", other.roundTrip("hello"));
                    supervisor.awaitMatch(Pattern.compile("start pid=\\d+ remote=127\\.0\\.0\\.2:" + other.localPort()
                            + " .* per-source=1/2"));
                }
                assertEquals("still here", first.roundTrip("still here"));
            }
            // Both of the first source's children are gone: it may connect again.
            supervisor.awaitMatches(Pattern.compile("end pid=\\d+ status=0 .*remote=127\\.0\\.0\\.1:"), 2);
            try (EchoClient again = EchoClient.connect(address, FIRST)) {
                assertEquals("open=0", again.readLine());
            }
        }
    }

    static String[] args(String... options) {
        String[] all = new String[options.length + COUNTING_CAT.length];
        System.arraycopy(options, 0, all, 0, options.length);
        System.arraycopy(COUNTING_CAT, 0, all, options.length, COUNTING_CAT.length);
        return all;
    }
}
