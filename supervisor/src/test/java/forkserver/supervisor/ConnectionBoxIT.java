package forkserver.supervisor;

import forkserver.posix.Posix;
import forkserver.supervisor.box.ServiceCgroup;
import forkserver.testkit.Await;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A box per connection, end to end: the real supervisor, run as root inside a service cgroup
 * this test makes as systemd makes a unit's (a pids budget, a memory limit), boxes each
 * connection in this host's real cgroups (the hybrid layout here), holds it to its limits, stops
 * what it leaves behind, says what it cost, and leaves no cgroup behind. The connections' program
 * is a perl script that does what its client's first line asks (perl forks without retrying and
 * measures itself).
 */
class ConnectionBoxIT {

    /** The service's own task budget, as systemd's TasksMax= gives a unit: the 250. */
    private static final int SERVICE_TASKS = 250;
    private static final String SERVICE_MEMORY = Long.toString(3L << 30);

    /**
     * What each connection does, by its first line. Sizes are computed at run time: perl folds a
     * constant {@code 'a' x N} when it compiles, for every connection.
     */
    private static final String PROGRAM = String.join(" ",
            "$| = 1; my $mib = 1024 * 1024; my $what = <STDIN>; $what = '' unless defined $what; chomp $what;",
            "if ($what eq 'bomb') { my $ok = 0; for (1 .. 300) { my $p = fork; next unless defined $p;",
            "  if ($p == 0) { exec 'sleep', '60' } $ok++ } print \"forked $ok\\n\"; my $wait = <STDIN>; exit 0 }",
            "if ($what eq 'hog') { my $x = 'a' x (400 * $mib); print length($x), \"\\n\"; exit 0 }",
            "if ($what eq 'spin') { require Time::HiRes; my $end = Time::HiRes::time() + 2;",
            "  1 while Time::HiRes::time() < $end; my @t = times; printf \"cpu %.3f\\n\", $t[0] + $t[1]; exit 0 }",
            "if ($what eq 'leave') { my $p = fork; if ($p == 0) { close STDIN; close STDOUT; close STDERR;",
            "  exec 'sleep', '60' } print \"left $p\\n\"; exit 0 }",
            "if ($what eq 'cost') { my $x = 'a' x (40 * $mib); my $t = 0;",
            "  while ($t < 0.5) { my @t = times; $t = $t[0] + $t[1] }",
            "  open(my $s, '<', '/proc/self/status'); my ($hwm) = map { /^VmHWM:\\s+(\\d+)/ ? $1 : () } <$s>;",
            "  printf \"cpu %.3f hwm %d\\n\", $t, $hwm * 1024; exit 0 }",
            "if ($what eq 'limits') { open(my $l, '<', '/proc/self/limits');",
            "  for (<$l>) { print \"nofile $1 $2\\n\" if /^Max open files\\s+(\\d+)\\s+(\\d+)/ } exit 0 }",
            "print \"hello $what\\n\";");

    private static final Pattern END = Pattern.compile("end pid=(\\d+) (.*)");

    @BeforeAll
    static void root() {
        assumeTrue(Posix.effectiveIds()[0] == 0, "boxes need root here (or a systemd delegation)");
    }

    @Test
    void aForkBombIsHeldToItsTasksWhileFiveOthersAreServed() throws Exception {
        try (ServiceCgroup service = service(); ServerProcess supervisor = start(service, "--child-tasks-max", "50")) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient bomb = EchoClient.connect(address)) {
                String forked = bomb.roundTrip("bomb");
                assertTrue(forked.startsWith("forked "), forked);
                int count = Integer.parseInt(forked.substring(7));
                assertTrue(count < 50, "the bomb forked " + count + " under --child-tasks-max 50");
                for (int i = 0; i < 5; i++) {
                    try (EchoClient other = EchoClient.connect(address)) {
                        assertEquals("hello client " + i, other.roundTrip("client " + i), "client " + i + " while the bomb holds");
                    }
                }
                bomb.send("done");
                Matcher end = awaitEnd(supervisor, bomb.localPort());
                assertTrue(end.group(2).matches(".*status=0 .*leftovers=" + count + " .*"), end.group());
            }
            awaitNoBoxes(service);
            supervisor.assertHoldsNoConnection();
            stop(supervisor, service);
        }
    }

    @Test
    void aMemoryHogIsKilledAloneAndTheNextClientIsServed() throws Exception {
        try (ServiceCgroup service = service(); ServerProcess supervisor = start(service, "--child-memory-max", "64M",
                "--metrics", "127.0.0.1:0")) {
            InetSocketAddress address = supervisor.awaitListening();
            int metrics = Integer.parseInt(supervisor.awaitMatch(Pattern.compile("metrics on 127\\.0\\.0\\.1:(\\d+)")).group(1));
            try (EchoClient calm = EchoClient.connect(address)) {
                calm.send("first");
                try (EchoClient hog = EchoClient.connect(address)) {
                    hog.send("hog");
                    try {
                        assertTrue(hog.atEndOfStream(), "the hog's connection ends without an answer");
                    } catch (java.io.UncheckedIOException e) {
                        // Reset: the kernel closed the killed hog's socket; as good an end.
                    }
                    Matcher end = awaitEnd(supervisor, hog.localPort());
                    assertTrue(end.group(2).matches("signal=KILL oom-kill=1 duration=\\S+ cpu=\\S+ memory-peak=\\S+MiB .*"),
                            end.group());
                }
                try (EchoClient next = EchoClient.connect(address)) {
                    assertEquals("hello next", next.roundTrip("next"));
                }
                assertEquals("hello first", calm.readLine(), "the client before the hog, served meanwhile");
                assertTrue(awaitEnd(supervisor, calm.localPort()).group(2).startsWith("status=0 "), "the first client's child");
            }
            String exposition = scrape(metrics);
            assertTrue(exposition.contains("forkserver_child_oom_kills_total 1.0"), exposition);
            assertTrue(exposition.contains("forkserver_child_exits_total{outcome=\"oom-kill\"} 1.0"), exposition);
            assertTrue(exposition.matches("(?s).*forkserver_child_cpu_seconds_count [1-9].*"), exposition);
            assertTrue(exposition.matches("(?s).*forkserver_child_memory_peak_bytes_count [1-9].*"), exposition);
            awaitNoBoxes(service);
            supervisor.assertHoldsNoConnection();
            stop(supervisor, service);
        }
    }

    @Test
    void aSpinnerGetsItsShareOfTheCpuOnly() throws Exception {
        try (ServiceCgroup service = service(); ServerProcess supervisor = start(service, "--child-cpu-max", "25%")) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient spinner = EchoClient.connect(address)) {
                String line = spinner.roundTrip("spin");
                double own = Double.parseDouble(line.substring(4));
                Matcher end = awaitEnd(supervisor, spinner.localPort());
                assertTrue(own <= 0.6, "the spinner had " + own + " s of CPU in 2 s under 25%: " + supervisor.stderr());
                double box = seconds(end.group(2), "cpu");
                assertTrue(box <= 0.6 && box >= 0.3, "the end line's cpu: " + end.group());
            }
            stop(supervisor, service);
        }
    }

    @Test
    void whatAChildLeavesBehindIsGoneWithinASecondOfItsEnd() throws Exception {
        try (ServiceCgroup service = service(); ServerProcess supervisor = start(service)) {
            InetSocketAddress address = supervisor.awaitListening();
            supervisor.awaitMatch(Pattern.compile("connections are boxed: "));
            long left;
            try (EchoClient client = EchoClient.connect(address)) {
                String line = client.roundTrip("leave");
                left = Long.parseLong(line.substring(5));
                Matcher end = awaitEnd(supervisor, client.localPort());
                assertTrue(end.group(2).contains(" leftovers=1 "), end.group());
            }
            Await.until("the leftover sleep " + left + " to be gone", Duration.ofSeconds(1), () -> gone(left));
            awaitNoBoxes(service);
            stop(supervisor, service);
        }
    }

    @Test
    void leftoversLiveOnWithLeftoversKeep() throws Exception {
        try (ServiceCgroup service = service(); ServerProcess supervisor = start(service, "--leftovers", "keep")) {
            InetSocketAddress address = supervisor.awaitListening();
            supervisor.awaitMatch(Pattern.compile("connections are not boxed: --leftovers keep"));
            try (EchoClient client = EchoClient.connect(address)) {
                long left = Long.parseLong(client.roundTrip("leave").substring(5));
                Matcher end = awaitEnd(supervisor, client.localPort());
                assertFalse(end.group(2).contains("leftovers="), end.group());
                assertFalse(end.group(2).contains("cpu="), end.group());
                try {
                    assertTrue(ProcessHandle.of(left).isPresent(), "the sleep " + left + " lives on, as asked");
                } finally {
                    ProcessHandle.of(left).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            stop(supervisor, service);
        }
    }

    @Test
    void theEndLineSaysWhatTheChildMeasured() throws Exception {
        try (ServiceCgroup service = service(); ServerProcess supervisor = start(service, "--log-format", "json")) {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", Integer.parseInt(supervisor.awaitMatch(
                    Pattern.compile("\\{\"event\":\"listening\".*\"address\":\"127\\.0\\.0\\.1:(\\d+)\"")).group(1)));
            try (EchoClient client = EchoClient.connect(address)) {
                String[] own = client.roundTrip("cost").split(" ");
                double cpu = Double.parseDouble(own[1]);
                long hwm = Long.parseLong(own[3]);
                Matcher end = supervisor.awaitMatch(Pattern.compile("\\{\"event\":\"end\".*\"remote\":\"127\\.0\\.0\\.1:"
                        + client.localPort() + "\".*"));
                double boxCpu = Double.parseDouble(field(end.group(), "cpu"));
                long peak = Long.parseLong(field(end.group(), "memory_peak"));
                assertTrue(Math.abs(boxCpu - cpu) <= cpu / 10 + 0.1, "box cpu " + boxCpu + ", the child's own " + cpu);
                // The box counts what perl's VmHWM does not (page tables, the page cache of what
                // it read) and VmHWM counts shared libraries the box was not charged for.
                assertTrue(Math.abs(peak - hwm) <= hwm / 10 + (16L << 20), "box peak " + peak + ", the child's VmHWM " + hwm);
            }
            stop(supervisor, service);
        }
    }

    @Test
    void eachChildGetsItsRlimits() throws Exception {
        try (ServiceCgroup service = service(); ServerProcess supervisor = start(service, "--child-rlimit", "nofile=64:128",
                "--child-rlimit", "as=unlimited")) {
            InetSocketAddress address = supervisor.awaitListening();
            supervisor.awaitMatch(Pattern.compile("rlimit-warning limit=as=unlimited detail=\"--child-rlimit as=unlimited: a JVM"));
            for (int i = 0; i < 2; i++) {
                try (EchoClient client = EchoClient.connect(address)) {
                    // Set right after the start (its start line is logged after), not before its first
                    // instructions: asked before, a child may still have the supervisor's own.
                    supervisor.awaitChildPidOf(client.localPort());
                    assertEquals("nofile 64 128", client.roundTrip("limits"));
                }
            }
            stop(supervisor, service);
        }
    }

    @Test
    void aChildThatCannotBeHeldToItsLimitsServesNoOne() throws Exception {
        // Above the kernel's fs.nr_open: setrlimit(2) refuses it even to root, so the shell step's
        // ulimit fails and the command never runs.
        try (ServiceCgroup service = service(); ServerProcess supervisor = start(service, "--child-rlimit",
                "nofile=2000000000")) {
            InetSocketAddress address = supervisor.awaitListening();
            try (EchoClient client = EchoClient.connect(address)) {
                try {
                    assertEquals("", client.readToEnd(), "not a byte to the client");
                } catch (java.io.UncheckedIOException e) {
                    // reset: as closed
                }
                Matcher end = awaitEnd(supervisor, client.localPort());
                assertTrue(end.group(2).startsWith("status=126 "), end.group());
            }
            awaitNoBoxes(service);
            Await.until("the refused child reaped", () -> forkserver.testkit.Limited.zombieChildrenOf(supervisor.pid()).isEmpty()
                    && supervisor.descendants().stream().noneMatch(ProcessHandle::isAlive));
            supervisor.assertHoldsNoConnection();
            stop(supervisor, service);
        }
    }

    @Test
    void rlimitsHoldFromTheCommandsFirstInstruction() throws Exception {
        // Unboxed (--leftovers keep), as without cgroups: cat reads its limits as it starts, before
        // a supervisor could reach it with prlimit(2) after the start; ten times, since a late
        // prlimit would lose that race only now and then.
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--leftovers", "keep",
                "--child-rlimit", "nofile=64:128", "--child-rlimit", "core=0",
                "--stdio", "inout", "--", "/bin/cat", "/proc/self/limits")) {
            InetSocketAddress address = supervisor.awaitListening();
            for (int i = 0; i < 10; i++) {
                try (EchoClient client = EchoClient.connect(address)) {
                    String limits = client.readToEnd();
                    assertTrue(Pattern.compile("(?m)^Max open files\\s+64\\s+128\\s").matcher(limits).find(), limits);
                    assertTrue(Pattern.compile("(?m)^Max core file size\\s+0\\s+0\\s").matcher(limits).find(), limits);
                }
            }
        }
    }

    @Test
    void theDefaultWorkerServesInABoxOf48TasksAnd192MiB() throws Exception {
        try (ServiceCgroup service = service();
             ServerProcess supervisor = ServerProcess.start(service.inside(List.of(Project.bin("supervisor"),
                     "--listen", "127.0.0.1:0", "--child-tasks-max", "48", "--child-memory-max", "192M")), Map.of())) {
            InetSocketAddress address = supervisor.awaitListening();
            for (int i = 0; i < 3; i++) {
                try (EchoClient client = EchoClient.connect(address)) {
                    assertEquals("hello " + i, client.roundTrip("hello " + i));
                    client.send("done");
                    assertEquals("bye!", client.readLine());
                    Matcher end = awaitEnd(supervisor, client.localPort());
                    assertTrue(end.group(2).startsWith("status=0 "), end.group());
                    assertFalse(end.group(2).contains("oom-kill"), end.group());
                }
            }
            awaitNoBoxes(service);
            supervisor.assertHoldsNoConnection();
            stop(supervisor, service);
        }
    }

    @Test
    void aLimitWithoutCgroupsIsAOneLineStartUpError() {
        // As another user (no write access to any cgroup), as a service without Delegate=yes runs.
        try (ServerProcess supervisor = ServerProcess.start(forkserver.testkit.Limited.asUser(List.of(
                Project.bin("supervisor"), "--listen", "127.0.0.1:0", "--child-memory-max", "64M", "--", "/bin/cat")),
                Map.of())) {
            assertEquals(1, supervisor.awaitExit(Duration.ofSeconds(30)));
            List<String> lines = supervisor.stderr().stream().filter(line -> line.startsWith("forkserver:")).toList();
            assertEquals(1, lines.size(), supervisor.stderr().toString());
            assertTrue(lines.getFirst().matches("forkserver: cannot box connections: --child-memory-max needs write access"
                    + " to \\S+: run the supervisor as root, or as a systemd service with Delegate=yes"), lines.getFirst());
        }
    }

    /** A service cgroup with the budget: 250 tasks, 3 GiB. */
    private static ServiceCgroup service() throws IOException {
        ServiceCgroup service = ServiceCgroup.make(true);
        service.limit("pids.max", Integer.toString(SERVICE_TASKS));
        try {
            service.limit("memory.limit_in_bytes", SERVICE_MEMORY);
        } catch (IOException e) {
            service.limit("memory.max", SERVICE_MEMORY);
        }
        return service;
    }

    private static ServerProcess start(ServiceCgroup service, String... options) {
        List<String> command = new ArrayList<>(List.of(Project.bin("supervisor"), "--listen", "127.0.0.1:0"));
        command.addAll(List.of(options));
        command.addAll(List.of("--", "/usr/bin/perl", "-e", PROGRAM));
        return ServerProcess.start(service.inside(command), Map.of());
    }

    private static Matcher awaitEnd(ServerProcess supervisor, int clientPort) {
        Matcher m = supervisor.awaitMatch(Pattern.compile("end pid=\\d+ (.*)remote=127\\.0\\.0\\.1:" + clientPort + " "));
        Matcher end = END.matcher(m.group());
        assertTrue(end.find());
        return end;
    }

    /** Ended: no such process, or a zombie (reparented, it waits for init to reap it). */
    private static boolean gone(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return true;
        }
    }

    private static double seconds(String fields, String name) {
        Matcher m = Pattern.compile("\\b" + name + "=(\\d+\\.\\d+)s").matcher(fields);
        assertTrue(m.find(), name + " in " + fields);
        return Double.parseDouble(m.group(1));
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":([0-9.]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return m.group(1);
    }

    private static void awaitNoBoxes(ServiceCgroup service) {
        Await.until("no box left in the service's cgroups", () -> {
            try {
                return service.leftovers().stream().noneMatch(dir -> dir.getFileName().toString().startsWith("box-"));
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** SIGTERM; the supervisor stops cleanly and leaves no cgroup (the service's close checks the rest). */
    private static void stop(ServerProcess supervisor, ServiceCgroup service) throws IOException {
        supervisor.signal("TERM");
        assertEquals(0, supervisor.awaitExit(Duration.ofSeconds(30)), supervisor.stderr().toString());
        assertEquals(List.of(), service.leftovers(), "cgroups left after stop");
    }

    private static String scrape(int port) throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode());
            return response.body();
        }
    }
}
