package forkserver.supervisor;

import forkserver.supervisor.base.HostPort;
import forkserver.supervisor.proxy.ProxyHeaders;
import forkserver.testkit.Activators;
import forkserver.testkit.Await;
import forkserver.testkit.ConnectionFactsHandler;
import forkserver.testkit.Descriptors;
import forkserver.testkit.EchoClient;
import forkserver.testkit.HaProxy;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static forkserver.supervisor.proxy.ProxyHeaders.address;
import static forkserver.supervisor.proxy.ProxyHeaders.ascii;
import static forkserver.supervisor.proxy.ProxyHeaders.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --proxy-protocol} behind a real HAProxy on loopback, with clients on distinct loopback
 * sources (127.0.0.2, 127.0.0.3, ::1); and raw headers written straight to the supervisor, from
 * the trusted 127.0.0.1 or the untrusted 127.0.0.2, for what HAProxy would never send.
 */
class ProxyProtocolIT {

    /** The status line's boxed totals (as root here) when no child ran: none at all. */
    private static final String NO_BOXED_COST = "( cpu=0\\.000s memory-peak-max=0B oom-kills=0 leftovers=0)?";

    static final InetAddress TRUSTED = InetAddress.ofLiteral("127.0.0.1");
    static final InetAddress CLIENT_A = InetAddress.ofLiteral("127.0.0.2");
    static final InetAddress CLIENT_B = InetAddress.ofLiteral("127.0.0.3");
    static final InetAddress CLIENT_6 = InetAddress.ofLiteral("::1");

    /** The child says what its environment says about the connection, then echoes. */
    static final String FACTS = "echo \"$TCPREMOTEIP $TCPREMOTEPORT $TCPLOCALIP $TCPLOCALPORT $REMOTE_ADDR $REMOTE_PORT\";"
            + " exec cat";
    static final Pattern START = Pattern.compile("forkserver: start pid=\\d+ ");
    static final Pattern REJECT = Pattern.compile("forkserver: reject ");

    /** bin/supervisor on 127.0.0.1:0 behind a proxy on 127.0.0.1, running FACTS with {@code --stdio inout}. */
    static ServerProcess supervisor(String... options) {
        List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0", "--proxy-protocol", "--proxy-from", "127.0.0.1"));
        args.addAll(List.of(options));
        args.addAll(List.of("--stdio", "inout", "--", "/bin/sh", "-c", FACTS));
        return ServerProcess.supervisor(args.toArray(String[]::new));
    }

    @ParameterizedTest
    @ValueSource(strings = {"send-proxy", "send-proxy-v2"})
    void theChildSeesTheRealClientAndTheAddressItDialledOverIpv4AndIpv6(String sendProxy, @TempDir Path dir) {
        try (ServerProcess supervisor = supervisor();
             HaProxy.Started haproxy = HaProxy.start(dir, HaProxy.testConfig(dir, List.of(supervisor.awaitListening()), sendProxy))) {
            int front = haproxy.address().getPort();
            for (InetAddress source : List.of(CLIENT_A, CLIENT_6)) {
                InetSocketAddress dialled = new InetSocketAddress(source.equals(CLIENT_6) ? CLIENT_6 : TRUSTED, front);
                try (EchoClient client = EchoClient.connect(dialled, source)) {
                    client.send("sent at once, behind the header"); // before the child could have said anything
                    String ip = HostPort.ip(source);
                    String dialledIp = HostPort.ip(dialled.getAddress());
                    int port = client.localPort();
                    assertEquals(ip + " " + port + " " + dialledIp + " " + front + " " + ip + " " + port, client.readLine());
                    assertEquals("sent at once, behind the header", client.readLine());
                    assertEquals("and after", client.roundTrip("and after"));
                    String remote = Pattern.quote(HostPort.format(new InetSocketAddress(source, port)));
                    String local = Pattern.quote(HostPort.format(dialled));
                    supervisor.awaitMatch(Pattern.compile("start pid=\\d+ remote=" + remote + " local=" + local
                            + " proxy=127\\.0\\.0\\.1:\\d+ children=\\d/40"));
                }
            }
            supervisor.awaitMatches(Pattern.compile("end pid=\\d+ status=0 .* proxy=127\\.0\\.0\\.1:\\d+ "), 2);
        }
    }

    /** What HAProxy sends in one segment (header, then the client's bytes) reaches the child intact, however long. */
    @Test
    void bytesInTheHeadersSegmentBelongToTheChild() {
        try (ServerProcess supervisor = supervisor()) {
            InetSocketAddress address = supervisor.awaitListening();
            InetSocketAddress client = address("203.0.113.7", 4242);
            InetSocketAddress dialled = address("198.51.100.1", 80);
            String big = "y".repeat(100_000);
            for (byte[] header : List.of(ProxyHeaders.v1(client, dialled), ProxyHeaders.v2(client, dialled),
                    ProxyHeaders.v2(client, dialled, ProxyHeaders.tlv(0x02, ascii("example.com")), ProxyHeaders.tlv(0x04, new byte[7])))) {
                try (EchoClient raw = EchoClient.connect(address, TRUSTED)) {
                    raw.sendBytes(concat(header, ascii("PROXY TCP4 not a header: data\r\n" + big + "\n")));
                    assertEquals("203.0.113.7 4242 198.51.100.1 80 203.0.113.7 4242", raw.readLine());
                    assertEquals("PROXY TCP4 not a header: data", raw.readLine()); // (readLine drops the CRLF)
                    assertEquals(big, raw.readLine());
                }
            }
            assertEquals(3, supervisor.awaitMatches(Pattern.compile("start pid=\\d+ remote=203\\.0\\.113\\.7:4242"
                    + " local=198\\.51\\.100\\.1:80 proxy=127\\.0\\.0\\.1:\\d+ "), 3).size());
        }
    }

    /**
     * A header that comes in pieces (a byte a segment, as a slow or fragmenting path would
     * deliver it) is gathered whole, and what follows it still reaches the child intact.
     */
    @Test
    void aHeaderInPiecesIsGatheredAndWhatFollowsBelongsToTheChild() throws Exception {
        try (ServerProcess supervisor = supervisor()) {
            InetSocketAddress address = supervisor.awaitListening();
            InetSocketAddress client = address("203.0.113.7", 4242);
            InetSocketAddress dialled = address("198.51.100.1", 80);
            for (byte[] header : List.of(ProxyHeaders.v1(client, dialled), ProxyHeaders.v2(client, dialled))) {
                try (EchoClient raw = EchoClient.connect(address, TRUSTED)) {
                    raw.socket().setTcpNoDelay(true); // each write its own segment
                    for (byte b : header) {
                        raw.sendBytes(new byte[] {b});
                        Thread.sleep(2); // the client's pace, not a wait for the server
                    }
                    raw.sendBytes(ascii("after the header\n"));
                    assertEquals("203.0.113.7 4242 198.51.100.1 80 203.0.113.7 4242", raw.readLine());
                    assertEquals("after the header", raw.readLine());
                }
            }
        }
    }

    @Test
    void maxPerSourceCountsTheRealClientNotTheProxy(@TempDir Path dir) {
        try (ServerProcess supervisor = supervisor("-C", "1", "--over-limit", "reject");
             HaProxy.Started haproxy = HaProxy.start(dir, HaProxy.testConfig(dir, List.of(supervisor.awaitListening()),
                     "send-proxy-v2"));
             EchoClient first = EchoClient.connect(haproxy.address(), CLIENT_A)) {
            assertTrue(first.readLine().startsWith("127.0.0.2 "));
            try (EchoClient again = EchoClient.connect(haproxy.address(), CLIENT_A)) {
                assertEquals("refused: max-per-source", again.readLine(), "the message reaches the client through HAProxy");
                assertTrue(again.atEndOfStream());
            }
            supervisor.awaitMatch(Pattern.compile("reject remote=127\\.0\\.0\\.2:\\d+ local=127\\.0\\.0\\.1:"
                    + haproxy.address().getPort() + " proxy=127\\.0\\.0\\.1:\\d+ reason=max-per-source children=1/40"));
            try (EchoClient other = EchoClient.connect(haproxy.address(), CLIENT_B)) {
                assertTrue(other.readLine().startsWith("127.0.0.3 "), "another client behind the same proxy is served");
                assertEquals("served", other.roundTrip("served"));
            }
            assertEquals("still", first.roundTrip("still"));
        }
    }

    @Test
    void healthChecksStartNoChildAndAreCountedInTheStatusLine(@TempDir Path dir) {
        try (ServerProcess supervisor = supervisor();
             HaProxy.Started haproxy = HaProxy.start(dir, HaProxy.testConfig(dir, List.of(supervisor.awaitListening()),
                     "send-proxy-v2 check check-send-proxy inter 100ms rise 1"))) {
            Await.until("HAProxy to see the supervisor UP", () -> haproxy.serverStatus("be", "s0").equals("UP"));
            Pattern counted = Pattern.compile("status children=0/40 top=none accepted=(\\d+) proxy-health-checks=(\\d+)"
                    + " rejected=none exited=none" + NO_BOXED_COST + "$");
            Matcher status = Await.value("five health checks in the status line", Await.DEFAULT, () -> {
                supervisor.signal("USR1");
                List<Matcher> lines = supervisor.matches(counted);
                Matcher last = lines.isEmpty() ? null : lines.getLast();
                return last != null && Integer.parseInt(last.group(2)) >= 5 ? last : null;
            });
            long accepted = Long.parseLong(status.group(1));
            long checks = Long.parseLong(status.group(2));
            assertTrue(accepted >= checks && accepted - checks <= 1, "every connection a health check (one may be on its way): "
                    + status.group());
            assertTrue(supervisor.matches(START).isEmpty() && supervisor.matches(REJECT).isEmpty(),
                    "no child, no log line per check: " + supervisor.stderr());
        }
    }

    @Test
    void aForgedHeaderFromAPeerOutsideProxyFromIsRefusedUnread() {
        try (ServerProcess supervisor = supervisor("--over-limit", "reject");
             EchoClient forger = EchoClient.connect(supervisor.awaitListening(), CLIENT_A)) {
            forger.sendBytes(ascii("PROXY TCP4 6.6.6.6 198.51.100.1 666 80\r\nhello\n"));
            assertEquals("refused: proxy-untrusted", forger.readLine());
            assertTrue(forger.atEndOfStream());
            supervisor.awaitMatch(Pattern.compile("reject remote=127\\.0\\.0\\.2:" + forger.localPort()
                    + " local=127\\.0\\.0\\.1:\\d+ reason=proxy-untrusted children=0/40$"));
            assertTrue(supervisor.matches(START).isEmpty());
            assertFalse(String.join("\n", supervisor.stderr()).contains("6.6.6.6"), "the claimed address is never logged");
        }
    }

    /** Each kind of malformed header, written raw from the trusted address: refused, no child. */
    @Test
    void malformedHeadersAreRefusedWithoutAChild() {
        InetSocketAddress client = address("203.0.113.7", 4242);
        InetSocketAddress dialled = address("198.51.100.1", 80);
        byte[] v2 = ProxyHeaders.v2(client, dialled);
        Map<String, byte[]> cases = new java.util.LinkedHashMap<>();
        cases.put("not a PROXY header", ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        cases.put("bad v1 signature", ascii("PROXY-TCP4 203.0.113.7 198.51.100.1 4242 80\r\n"));
        cases.put("no CRLF within 107", ascii("PROXY UNKNOWN " + "x".repeat(120) + "\r\n"));
        cases.put("LF without CR", ascii("PROXY TCP4 203.0.113.7 198.51.100.1 4242 80\n"));
        cases.put("none of TCP4, TCP6, UNKNOWN", ascii("PROXY UDP4 203.0.113.7 198.51.100.1 4242 80\r\n"));
        cases.put("not an IPv4 address", ascii("PROXY TCP4 203.0.113.256 198.51.100.1 4242 80\r\n"));
        cases.put("not an IPv6 address", ascii("PROXY TCP6 2001:db8::g 2001:db8::1 4242 80\r\n"));
        cases.put("is not a number", ascii("PROXY TCP4 203.0.113.7 198.51.100.1 http 80\r\n"));
        cases.put("from 0 to 65535", ascii("PROXY TCP4 203.0.113.7 198.51.100.1 4242 65536\r\n"));
        cases.put("bad v2 signature", mutated(v2, 3, (byte) 0x0B));
        cases.put("v2 version 1", mutated(v2, 12, (byte) 0x11));
        cases.put("v2 command 2", mutated(v2, 12, (byte) 0x22));
        cases.put("v2 address family 4", mutated(v2, 13, (byte) 0x41));
        cases.put("v2 transport 3", mutated(v2, 13, (byte) 0x13));
        cases.put("its family needs 36", mutated(v2, 13, (byte) 0x21));
        cases.put("more than the 2048 accepted", concat(Arrays.copyOf(v2, 14), new byte[] {0x10, 0x00}, new byte[4096]));
        cases.put("runs past the header", concat(mutated(v2, 15, (byte) 17), new byte[] {0x02, 0x00, 0x09, 'x', 'y'}));
        cases.put("CRC32C mismatch", ProxyHeaders.v2(client, dialled, ProxyHeaders.tlv(0x03, new byte[] {1, 2, 3, 4})));
        try (ServerProcess supervisor = supervisor("--over-limit", "reject", "--reject-message", "no: {reason}")) {
            InetSocketAddress address = supervisor.awaitListening();
            for (Map.Entry<String, byte[]> kind : cases.entrySet()) {
                try (EchoClient raw = EchoClient.connect(address, TRUSTED)) {
                    raw.sendBytes(concat(kind.getValue(), ascii("data\n")));
                    assertEquals("no: proxy-header", raw.readLine(), kind.getKey());
                    assertTrue(raw.atEndOfStream(), kind.getKey());
                    supervisor.awaitMatch(Pattern.compile("reject remote=127\\.0\\.0\\.1:" + raw.localPort()
                            + " local=\\S+ reason=proxy-header detail=\"[^\"]*" + Pattern.quote(kind.getKey())));
                }
            }
            // Closed halfway through a header: refused too, when the end of stream comes.
            try (EchoClient raw = EchoClient.connect(address, TRUSTED)) {
                raw.sendBytes(Arrays.copyOf(v2, 20));
                raw.shutdownOutput();
                assertEquals("no: proxy-header", raw.readLine());
                supervisor.awaitMatch(Pattern.compile("reject remote=127\\.0\\.0\\.1:" + raw.localPort()
                        + " .*reason=proxy-header detail=\"closed within its header \\(20 bytes\\)\""));
            }
            supervisor.signal("USR1");
            supervisor.awaitMatch(Pattern.compile("status children=0/40 top=none accepted=" + (cases.size() + 1)
                    + " proxy-health-checks=0 rejected=proxy-header:" + (cases.size() + 1) + " exited=none" + NO_BOXED_COST + "$"));
            assertTrue(supervisor.matches(START).isEmpty(), "no child: " + supervisor.stderr());
            supervisor.assertHoldsNoConnection();
        }
    }

    /**
     * A hundred connections that never send their header hold nobody up: a real one coming
     * after them is served before the first of them times out; then each is refused.
     */
    @Test
    void silentConnectionsTimeOutAndDoNotDelayOthers() {
        int silent = 100;
        try (ServerProcess supervisor = supervisor("--proxy-timeout", "4s")) {
            InetSocketAddress address = supervisor.awaitListening();
            List<EchoClient> quiet = new ArrayList<>();
            try {
                for (int i = 0; i < silent; i++) {
                    quiet.add(EchoClient.connect(address, TRUSTED));
                }
                byte[] halfway = ascii("PROXY TCP4 203.0.");
                quiet.getLast().sendBytes(halfway); // one that stops halfway
                try (EchoClient real = EchoClient.connect(address, TRUSTED)) {
                    real.sendBytes(ProxyHeaders.v1(address("203.0.113.9", 9), address("198.51.100.1", 80)));
                    assertEquals("203.0.113.9 9 198.51.100.1 80 203.0.113.9 9", real.readLine());
                    assertTrue(supervisor.matches(Pattern.compile("reason=proxy-timeout")).isEmpty(),
                            "served before any silent connection timed out");
                }
                supervisor.awaitMatches(Pattern.compile("reject remote=127\\.0\\.0\\.1:\\d+ local=\\S+ reason=proxy-timeout"
                        + " detail=\"no complete header within 4\\.000s \\(\\d+ bytes of one\\)\""), silent);
                for (EchoClient client : quiet) {
                    assertTrue(client.atEndOfStream());
                }
                supervisor.awaitMatch(Pattern.compile("reason=proxy-timeout detail=\"[^\"]*\\(" + halfway.length + " bytes of one\\)\""));
            } finally {
                quiet.forEach(EchoClient::close);
            }
            assertEquals(1, supervisor.matches(START).size());
            supervisor.assertHoldsNoConnection();
        }
    }

    /**
     * {@code --over-limit wait} (the default) at {@code -c}: a client whose header is read waits
     * for a child and is never refused for max-children; health checks are answered meanwhile.
     */
    @Test
    void underWaitAClientAtTheLimitWaitsForAChildWhileHealthChecksAreAnswered() {
        try (ServerProcess supervisor = supervisor("-c", "1")) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient first = proxied(address, "203.0.113.1", 1);
                 EchoClient second = EchoClient.connect(address, TRUSTED)) {
                second.sendBytes(ProxyHeaders.v2(address("203.0.113.2", 2), address("198.51.100.1", 80)));
                try (EchoClient check = EchoClient.connect(address, TRUSTED)) {
                    check.sendBytes(ProxyHeaders.v2Local());
                    assertTrue(check.atEndOfStream(), "a health check is closed at once, child slot or not");
                }
                assertEquals(null, second.readLineWithin(300), "no child for the second while the first holds the only one");
                first.shutdownOutput();
                assertTrue(first.atEndOfStream());
                assertEquals("203.0.113.2 2 198.51.100.1 80 203.0.113.2 2", second.readLine(), "its turn came");
            }
            supervisor.signal("USR1");
            supervisor.awaitMatch(Pattern.compile("status .* accepted=3 proxy-health-checks=1 rejected=none "));
        }
    }

    /**
     * SIGTERM: connections still in the PROXY stage (a header on its way, or read and waiting for
     * a child) are closed at once without a child; a running session drains as usual.
     */
    @Test
    void sigtermClosesTheConnectionsStillInTheStageAndTheSupervisorExitsCleanly() throws Exception {
        try (ServerProcess supervisor = supervisor("-c", "1", "--proxy-timeout", "1h")) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient held = proxied(address, "203.0.113.1", 1);
                 EchoClient waiting = EchoClient.connect(address, TRUSTED);
                 EchoClient silent = EchoClient.connect(address, TRUSTED)) {
                waiting.sendBytes(ProxyHeaders.v1(address("203.0.113.2", 2), address("198.51.100.1", 80)));
                silent.sendBytes(ascii("PROXY "));
                Await.until("both in the stage", () -> {
                    supervisor.signal("USR1");
                    return !supervisor.matches(Pattern.compile("status .* accepted=3 ")).isEmpty();
                });
                supervisor.signal("TERM");
                assertTrue(waiting.atEndOfStream() && silent.atEndOfStream(), "closed without a child");
                assertEquals("draining", held.roundTrip("draining"), "the running session goes on");
            }
            assertEquals(0, supervisor.awaitExit(java.time.Duration.ofSeconds(60)));
            assertEquals(1, supervisor.matches(START).size(), supervisor.stderr().toString());
            assertTrue(supervisor.stderr().contains("forkserver: stopped"), supervisor.stderr().toString());
        }
    }

    /**
     * Out of descriptors (RLIMIT_NOFILE 64, with prlimit): connections that never send a header
     * hold all the supervisor has; accept fails (EMFILE) and is retried, their deadlines free the
     * descriptors, and a real client waiting behind them is served.
     */
    @Test
    void outOfDescriptorsSilentConnectionsTimeOutAndTheServiceRecovers() {
        List<String> command = new ArrayList<>(List.of("/usr/bin/prlimit", "--nofile=64:64", Project.bin("supervisor"),
                "--listen", "127.0.0.1:0", "--proxy-protocol", "--proxy-from", "127.0.0.1", "--proxy-timeout", "2s",
                "--stdio", "inout", "--", "/bin/sh", "-c", FACTS));
        try (ServerProcess supervisor = ServerProcess.start(command, Map.of())) {
            InetSocketAddress address = supervisor.awaitListening();
            List<EchoClient> quiet = new ArrayList<>();
            try {
                for (int i = 0; i < 80; i++) {
                    quiet.add(EchoClient.connect(address, TRUSTED)); // the kernel's backlog takes what we cannot
                }
                supervisor.awaitMatch(Pattern.compile("accept-failed reason=EMFILE detail=\"accept4: Too many open files"));
                try (EchoClient real = EchoClient.connect(address, TRUSTED)) {
                    real.sendBytes(ProxyHeaders.v1(address("203.0.113.9", 9), address("198.51.100.1", 80)));
                    assertEquals("203.0.113.9 9 198.51.100.1 80 203.0.113.9 9", real.readLine());
                }
                supervisor.awaitMatches(Pattern.compile("reason=proxy-timeout"), 80);
            } finally {
                quiet.forEach(EchoClient::close);
            }
            // Accepting pauses (20 ms, doubling up to 1 s) while descriptors are short: a handful of
            // accept-failed lines, not an acceptor spinning on EMFILE (tens of thousands in 6 s).
            int failedAccepts = supervisor.matches(Pattern.compile("accept-failed reason=EMFILE")).size();
            assertTrue(failedAccepts < 200, failedAccepts + " accept-failed lines");
            supervisor.assertHoldsNoConnection();
        }
    }

    /** A session from the trusted address whose v1 header names {@code ip:port}; its first line read. */
    private static EchoClient proxied(InetSocketAddress supervisor, String ip, int port) {
        EchoClient client = EchoClient.connect(supervisor, TRUSTED);
        client.sendBytes(ProxyHeaders.v1(address(ip, port), address("198.51.100.1", 80)));
        assertEquals(ip + " " + port + " 198.51.100.1 80 " + ip + " " + port, client.readLine());
        return client;
    }

    /**
     * A spare is handed the real client's facts, and the access rules judge the real client:
     * with {@code --default-policy deny} the proxy itself matches no rule, its client does.
     */
    @Test
    void aSpareIsHandedTheRealClientAndTheRulesJudgeIt() {
        try (ServerProcess supervisor = ServerProcess.supervisor(ConnectionFactsHandler.environment(),
                "--listen", "127.0.0.1:0", "--spares", "1", "--proxy-protocol", "--proxy-from", "127.0.0.1",
                "--default-policy", "deny", "--allow", "203.0.113.0/24 RULE=proxied")) {
            InetSocketAddress address = supervisor.awaitListening();
            supervisor.awaitMatch(Pattern.compile("spare-ready pid=\\d+ "));
            try (EchoClient raw = EchoClient.connect(address, TRUSTED)) {
                raw.sendBytes(ProxyHeaders.v2(address("203.0.113.7", 4242), address("198.51.100.1", 80)));
                assertEquals("203.0.113.7 4242 198.51.100.1 80 0 proxied", raw.readLine());
            }
            supervisor.awaitMatch(Pattern.compile("start pid=\\d+ remote=203\\.0\\.113\\.7:4242 local=198\\.51\\.100\\.1:80"
                    + " proxy=127\\.0\\.0\\.1:\\d+ children=1/40 via=spare"));
            try (EchoClient raw = EchoClient.connect(address, TRUSTED)) {
                raw.sendBytes(ProxyHeaders.v1(address("192.0.2.66", 1), address("198.51.100.1", 80)));
                assertTrue(raw.atEndOfStream(), "a client no rule allows is denied, though its proxy is trusted");
            }
            supervisor.awaitMatch(Pattern.compile("reject remote=192\\.0\\.2\\.66:1 local=198\\.51\\.100\\.1:80"
                    + " proxy=127\\.0\\.0\\.1:\\d+ reason=denied"));
        }
    }

    /** Under systemd's LISTEN_FDS, with the default worker (spawned per connection) and the JSON log. */
    @Test
    void underSocketActivationWithTheDefaultWorker() {
        List<String> command = List.of(Project.bin("supervisor"), "--proxy-protocol", "--proxy-from", "127.0.0.1",
                "--log-format", "json");
        try (Activators.Started activator = Activators.systemdSocketActivate(List.of(), command,
                ConnectionFactsHandler.environment());
             EchoClient raw = EchoClient.connect(activator.address(), TRUSTED)) {
            raw.sendBytes(ProxyHeaders.v1(address("2001:db8::7", 4242), address("2001:db8::1", 80)));
            assertEquals("2001:db8::7 4242 2001:db8::1 80 0 null", raw.readLine());
            activator.process().awaitMatch(Pattern.compile("\\{\"event\":\"start\",\"pid\":\\d+,\"remote\":\"\\[2001:db8::7]:4242\","
                    + "\"local\":\"\\[2001:db8::1]:80\",\"proxy\":\"127\\.0\\.0\\.1:\\d+\","));
            activator.process().awaitMatch(Pattern.compile("\"how\":\"systemd LISTEN_FDS fd 3\""));
        }
    }

    private static byte[] mutated(byte[] header, int at, byte value) {
        byte[] copy = header.clone();
        copy[at] = value;
        return copy;
    }
}
