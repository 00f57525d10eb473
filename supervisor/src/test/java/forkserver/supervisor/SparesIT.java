package forkserver.supervisor;

import forkserver.posix.Posix;
import forkserver.testkit.Await;
import forkserver.testkit.ConnectionFactsHandler;
import forkserver.testkit.DescriptorHogHandler;
import forkserver.testkit.Descriptors;
import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code --spares N}: warm workers take connections by descriptor passing, each its own; a spare
 * that dies idle is replaced; one that fails at hand-off loses no connection.
 */
class SparesIT {

    private static final Pattern READY = Pattern.compile("spare-ready pid=(\\d+) .*spares=(\\d+)/(\\d+)");
    private static final Pattern VIA = Pattern.compile("start pid=(\\d+) remote=\\S+:(\\d+) .*via=(spare|spawn)");

    @Test
    void concurrentClientsEachGetTheirOwnSpare() throws Exception {
        int spares = 3;
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "" + spares)) {
            InetSocketAddress address = supervisor.awaitListening();
            Set<Long> readyPids = awaitReadySpares(supervisor, spares);
            supervisor.signal("USR1");
            supervisor.awaitMatch(Pattern.compile("status children=0/40 spares=3/3 "));

            ExecutorService clients = Executors.newFixedThreadPool(spares);
            try {
                List<Future<String>> answers = new ArrayList<>();
                for (int i = 0; i < spares; i++) {
                    String line = "client " + i + " " + "x".repeat(i * 1000);
                    answers.add(clients.submit(session(address, line)));
                }
                for (int i = 0; i < spares; i++) {
                    assertEquals("ok", answers.get(i).get(), "client " + i);
                }
            } finally {
                clients.shutdownNow();
            }
            List<Matcher> starts = supervisor.awaitMatches(VIA, spares);
            Set<Long> served = new HashSet<>();
            for (Matcher start : starts) {
                assertEquals("spare", start.group(3), "with spares ready, no client waits for a spawn: " + start.group());
                served.add(Long.parseLong(start.group(1)));
            }
            assertEquals(readyPids, served, "each client had one of the ready spares, none two");
            supervisor.assertHoldsNoConnection(); // its copy of each socket closed once its spare took it
        }
    }

    /** One client: its own unique lines come back to it, then bye. */
    private static Callable<String> session(InetSocketAddress address, String line) {
        return () -> {
            try (EchoClient client = EchoClient.connect(address)) {
                for (int round = 0; round < 3; round++) {
                    String mine = line + " round " + round;
                    String echoed = client.roundTrip(mine);
                    if (!mine.equals(echoed)) {
                        return "sent '" + mine + "', got '" + echoed + "'";
                    }
                }
                return client.roundTrip("done").equals("bye!") && client.atEndOfStream() ? "ok" : "no bye";
            }
        };
    }

    @Test
    void theHandlerSeesTheClientsAddressAndTheRulesVariables() {
        try (ServerProcess supervisor = ServerProcess.supervisor(ConnectionFactsHandler.environment(),
                "--listen", "127.0.0.1:0", "--spares", "1", "--allow", "127.0.0.2 RULE=second")) {
            InetSocketAddress address = supervisor.awaitListening();
            awaitReadySpares(supervisor, 1);
            try (EchoClient client = EchoClient.connect(address, InetAddress.getByName("127.0.0.2"))) {
                assertEquals("127.0.0.2 " + client.localPort() + " 127.0.0.1 " + address.getPort() + " 0 second",
                        client.readLine());
                assertEquals("spare", viaOf(supervisor, client.localPort()));
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * A spare is background work until it takes a connection: its box has a tenth of the normal
     * CPU weight while it warms up and waits, and the normal weight (the kernel's default) once
     * it serves a client; read from the cgroup files the process itself is in.
     */
    @Test
    void aWaitingSparesBoxHasALowCpuWeightAndItsConnectionsTheNormalOne() throws IOException {
        assumeTrue(Posix.effectiveIds()[0] == 0, "boxes need root here");
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "1")) {
            InetSocketAddress address = supervisor.awaitListening();
            long spare = awaitReadySpares(supervisor, 1).iterator().next();
            Path file = cpuWeightFile(spare);
            int normal = file.getFileName().toString().equals("cpu.weight") ? 100 : 1024;
            assertEquals(normal / 10, Integer.parseInt(Files.readString(file).trim()), file + " of the waiting spare");
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("hello", client.roundTrip("hello"));
                assertEquals(spare, supervisor.awaitChildPidOf(client.localPort()));
                assertEquals(file, cpuWeightFile(spare), "the same box");
                assertEquals(normal, Integer.parseInt(Files.readString(file).trim()), file + " of the spare serving a client");
            }
        }
    }

    /** The file with the CPU weight of {@code pid}'s cgroup: v1's cpu.shares, else v2's cpu.weight; in a box. */
    private static Path cpuWeightFile(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            String[] fields = line.split(":", 3);
            if (List.of(fields[1].split(",")).contains("cpu")) {
                assertTrue(fields[2].contains("/box-"), "pid " + pid + " in a box: " + line);
                return Path.of("/sys/fs/cgroup", fields[1], fields[2], "cpu.shares");
            }
        }
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            if (line.startsWith("0::")) {
                assertTrue(line.contains("/box-"), "pid " + pid + " in a box: " + line);
                return Path.of("/sys/fs/cgroup", line.substring(3), "cpu.weight");
            }
        }
        throw new AssertionError("no cgroup with a CPU weight for pid " + pid);
    }

    @Test
    void aSpareKilledWhileIdleIsReplaced() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "1")) {
            InetSocketAddress address = supervisor.awaitListening();
            long first = awaitReadySpares(supervisor, 1).iterator().next();
            ServerProcess.signal(first, "KILL");
            supervisor.awaitMatch(Pattern.compile("spare-exit pid=" + first + " signal=KILL was=ready "));
            long second = Long.parseLong(supervisor.awaitMatches(READY, 2).get(1).group(1));
            assertNotEquals(first, second);
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("after", client.roundTrip("after"));
                assertEquals(second, supervisor.awaitChildPidOf(client.localPort()));
                assertEquals("spare", viaOf(supervisor, client.localPort()));
            }
        }
    }

    @Test
    void aSpareKilledJustBeforeAConnectionLosesNothing() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "1")) {
            InetSocketAddress address = supervisor.awaitListening();
            long spare = awaitReadySpares(supervisor, 1).iterator().next();
            // Whichever comes first, the supervisor noticing the death or choosing the dead spare
            // (a failed hand-off), the client is served by a process spawned for it.
            ServerProcess.signal(spare, "KILL");
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("served", client.roundTrip("served"));
                assertEquals("spawn", viaOf(supervisor, client.localPort()));
            }
        }
    }

    @Test
    void aSpareThatDoesNotTakeItsConnectionIsStoppedAndTheClientServedElsewhere() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "1")) {
            InetSocketAddress address = supervisor.awaitListening();
            long spare = awaitReadySpares(supervisor, 1).iterator().next();
            // Stopped, it stays in the pool, is chosen, and the descriptor reaches its queue; it
            // never acknowledges. The supervisor still holds the connection: after the hand-off
            // timeout it kills the spare and gives the client, whose bytes wait unread, to the
            // next spare (the replacement started meanwhile) or to a process spawned for it.
            ServerProcess.signal(spare, "STOP");
            try (EchoClient client = EchoClient.connect(address)) {
                client.send("patient");
                assertEquals("patient", client.readLine());
                supervisor.awaitMatch(Pattern.compile("handoff-failed pid=" + spare + " remote=127.0.0.1:"
                        + client.localPort() + " reason=\"no acknowledgement within 0\\.250s \\(signal=KILL\\)\""));
                assertNotEquals(spare, supervisor.awaitChildPidOf(client.localPort()));
                assertEquals("bye!", client.roundTrip("done"));
            }
        }
    }

    /**
     * A spare whose handler's warm-up left it no descriptor free: the kernel drops the connection
     * it is handed (MSG_CTRUNC), the spare says so in one line and exits unacknowledged, and the
     * supervisor, which still holds the connection, gives it to a process spawned for it.
     */
    @Test
    void aSpareWithNoDescriptorFreeGivesItsClientBackToBeServed() throws IOException {
        // The hard limit is the soft one here, or the JVM would raise its own soft limit to it.
        try (ServerProcess supervisor = ServerProcess.supervisor(DescriptorHogHandler.environment(),
                "--listen", "127.0.0.1:0", "--spares", "1", "--child-rlimit", "nofile=512")) {
            InetSocketAddress address = supervisor.awaitListening();
            long spare = awaitReadySpares(supervisor, 1).iterator().next();
            try (EchoClient client = EchoClient.connect(address)) {
                assertEquals("served", client.readLine());
                supervisor.awaitMatch(Pattern.compile("stderr pid=" + spare + " line=\"forkserver worker: spare: out of"
                        + " descriptors: recvmsg: a descriptor came with the message, and this process had no descriptor"
                        + " free to take it \\(errno 24\\)\""));
                supervisor.awaitMatch(Pattern.compile("handoff-failed pid=" + spare + " remote=127.0.0.1:"
                        + client.localPort() + " reason=\"ended before acknowledging \\(status=2\\)\""));
                assertNotEquals(spare, supervisor.awaitChildPidOf(client.localPort()));
                assertEquals("spawn", viaOf(supervisor, client.localPort()));
            }
        }
    }

    /**
     * Two spares stopped (SIGSTOP) while they wait: the acceptor hands each a client without
     * waiting for any answer, and a third client is spawned for at once; after the hand-off
     * timeout the stopped spares are killed and their clients served by processes spawned for
     * them. Before pipelining, the acceptor waited 5 s for each, and 5 s more for each to exit.
     */
    @Test
    void stoppedSparesHoldNobodyUpButTheirOwnClientsForAMoment() throws Exception {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "2")) {
            InetSocketAddress address = supervisor.awaitListening();
            Set<Long> stopped = awaitReadySpares(supervisor, 2);
            for (long spare : stopped) {
                ServerProcess.signal(spare, "STOP");
            }
            ExecutorService clients = Executors.newFixedThreadPool(3);
            try {
                List<Future<Long>> firstEcho = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    String line = "client " + i;
                    firstEcho.add(clients.submit(() -> {
                        long begin = System.nanoTime();
                        try (EchoClient client = EchoClient.connect(address)) {
                            assertEquals(line, client.roundTrip(line));
                            long took = System.nanoTime() - begin;
                            assertEquals("bye!", client.roundTrip("done"));
                            return took;
                        }
                    }));
                }
                for (Future<Long> took : firstEcho) {
                    Duration echo = Duration.ofNanos(took.get());
                    // Each gets its echo well before a spawned worker would have taken 5 s to be tried.
                    assertTrue(echo.compareTo(Duration.ofSeconds(3)) < 0, "first echo after " + echo);
                }
            } finally {
                clients.shutdownNow();
            }
            List<Matcher> failed = supervisor.awaitMatches(Pattern.compile(
                    "handoff-failed pid=(\\d+) .*reason=\"no acknowledgement within 0\\.250s \\(signal=KILL\\)\""), 2);
            assertEquals(stopped, Set.of(Long.parseLong(failed.get(0).group(1)), Long.parseLong(failed.get(1).group(1))));
            List<Matcher> starts = supervisor.awaitMatches(VIA, 3);
            for (Matcher start : starts) {
                assertTrue(!stopped.contains(Long.parseLong(start.group(1))), "a stopped spare served: " + start.group());
            }
        }
    }

    @Test
    void noSpareHoldsAnotherClientsSocket() throws IOException {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "2");
             EchoClient first = EchoClient.connect(awaitReady(supervisor, 2));
             EchoClient second = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("a", first.roundTrip("a"));
            assertEquals("b", second.roundTrip("b"));
            // The replacements: warm, idle, and holding no client at all.
            List<Matcher> ready = supervisor.awaitMatches(READY, 4);
            Set<String> tcp = Descriptors.tcpSocketInodes();
            for (Matcher line : ready.subList(2, 4)) {
                Map<Integer, String> fds = Descriptors.of(Long.parseLong(line.group(1)));
                fds.forEach((fd, target) -> assertTrue(!tcp.contains(target),
                        "idle spare " + line.group(1) + " holds a TCP socket on fd " + fd + ": " + fds));
            }
            for (EchoClient client : List.of(first, second)) {
                long pid = supervisor.awaitChildPidOf(client.localPort());
                Map<Integer, String> fds = Descriptors.of(pid);
                String connection = fds.get(0);
                assertTrue(connection.startsWith("socket:") && tcp.contains(connection), "fd 0 is the client: " + fds);
                fds.forEach((fd, target) -> {
                    if (tcp.contains(target)) {
                        assertEquals(connection, target, "spare " + pid + " fd " + fd + " is another TCP socket: " + fds);
                    }
                });
            }
        }
    }

    @Test
    void idleSparesStopAtOnceOnShutdownWhileABusyOneDrains() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "2");
             EchoClient client = EchoClient.connect(awaitReady(supervisor, 2))) {
            assertEquals("busy", client.roundTrip("busy"));
            long busy = supervisor.awaitChildPidOf(client.localPort());
            supervisor.descendants();
            List<Long> idle = new ArrayList<>();
            Await.until("the replacement spare", () -> !supervisor.matches(READY).isEmpty()
                    && supervisor.matches(READY).size() >= 3);
            for (Matcher line : supervisor.matches(READY)) {
                long pid = Long.parseLong(line.group(1));
                if (pid != busy) {
                    idle.add(pid);
                }
            }
            supervisor.signal("TERM");
            Await.until("idle spares " + idle + " to be stopped", () ->
                    idle.stream().noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
            assertEquals("still served", client.roundTrip("still served"));
            assertEquals("bye!", client.roundTrip("done"));
            assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)));
        }
    }

    @Test
    void onlyASpareLoadsTheNativeBindings() {
        // The worker's stderr is the supervisor's: its class-loading log lands in the same lines.
        Map<String, String> classLog = Map.of("FORKSERVER_WORKER_JAVA_OPTS", "-Xlog:class+load=info:stderr");
        Pattern launcher = Pattern.compile("forkserver\\.worker\\.Launcher source:");
        Pattern nativeBindings = Pattern.compile("(forkserver\\.posix\\.|java\\.lang\\.foreign\\.)\\S+ source:");
        try (ServerProcess onDemand = ServerProcess.supervisor(classLog, "--listen", "127.0.0.1:0");
             EchoClient client = EchoClient.connect(onDemand.awaitListening())) {
            assertEquals("bye!", client.roundTrip("done"));
            assertTrue(client.atEndOfStream());
            onDemand.awaitMatch(Pattern.compile("end pid="));
            onDemand.awaitMatch(launcher);
            assertEquals(List.of(), onDemand.matches(nativeBindings).stream().map(Matcher::group).toList(),
                    "an on-demand worker loads no FFM class");
        }
        try (ServerProcess spares = ServerProcess.supervisor(classLog, "--listen", "127.0.0.1:0", "--spares", "1")) {
            awaitReady(spares, 1);
            spares.awaitMatch(Pattern.compile("forkserver\\.posix\\.Posix source:"));
        }
    }

    @Test
    void aSpareLoadsTheStreamsOfConnectionInAndOutBeforeAnyClient() {
        // No client ever connects here: only a spare's warm-up can load the classes behind
        // Connection.in() and out(), which a handler's first request would otherwise load.
        Map<String, String> classLog = Map.of("FORKSERVER_WORKER_JAVA_OPTS", "-Xlog:class+load=info:stderr");
        try (ServerProcess spares = ServerProcess.supervisor(classLog, "--listen", "127.0.0.1:0", "--spares", "1")) {
            awaitReady(spares, 1);
            spares.awaitMatch(Pattern.compile("sun\\.nio\\.ch\\.SocketInputStream source:"));
            spares.awaitMatch(Pattern.compile("sun\\.nio\\.ch\\.SocketOutputStream source:"));
            assertEquals(List.of(), spares.matches(Pattern.compile("start pid=")).stream().map(Matcher::group).toList(),
                    "no worker was started for a client");
        }
    }

    @Test
    void aWorkerSpawnedForAClientIsNeverASpare() {
        // FORKSERVER_SPARE inherited from the supervisor's environment must not make a worker
        // spawned for a client wait for a hand-off (or write the protocol's bytes to the client).
        try (ServerProcess supervisor = ServerProcess.supervisor(Map.of("FORKSERVER_SPARE", "1"),
                "--listen", "127.0.0.1:0");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("plain", client.roundTrip("plain"));
        }
    }

    @Test
    void sparesNeedForkserversWorker() {
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "2",
                "--", "/bin/cat")) {
            assertEquals(Main.EXIT_USAGE, supervisor.awaitExit(Duration.ofSeconds(60)));
            List<String> lines = supervisor.stderr();
            assertEquals(1, lines.size(), "one line: " + lines);
            assertTrue(lines.getFirst().startsWith("forkserver: --spares needs forkserver's worker as COMMAND"),
                    lines.getFirst());
        }
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--spares", "1",
                "--stdio", "inout")) {
            assertEquals(Main.EXIT_USAGE, supervisor.awaitExit(Duration.ofSeconds(60)));
            assertTrue(supervisor.stderr().getFirst().contains("--spares works with --stdio in only"),
                    supervisor.stderr().toString());
        }
    }

    private static InetSocketAddress awaitReady(ServerProcess supervisor, int spares) {
        InetSocketAddress address = supervisor.awaitListening();
        awaitReadySpares(supervisor, spares);
        return address;
    }

    /** Waits for {@code count} spare-ready lines and returns their pids. */
    private static Set<Long> awaitReadySpares(ServerProcess supervisor, int count) {
        Set<Long> pids = new HashSet<>();
        for (Matcher line : supervisor.awaitMatches(READY, count)) {
            pids.add(Long.parseLong(line.group(1)));
        }
        return pids;
    }

    private static String viaOf(ServerProcess supervisor, int clientPort) {
        return Await.value("the start line of client port " + clientPort, Await.DEFAULT, () -> {
            for (Matcher m : supervisor.matches(VIA)) {
                if (Integer.parseInt(m.group(2)) == clientPort) {
                    return m.group(3);
                }
            }
            return null;
        });
    }
}
