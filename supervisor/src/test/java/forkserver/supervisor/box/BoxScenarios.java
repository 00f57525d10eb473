package forkserver.supervisor.box;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * What a box must do, with real cgroups and real processes, each scenario in a service cgroup of
 * its own ({@link ServiceCgroup}) that must be empty afterwards. Run by {@code BoxIT} on this host
 * (the hybrid layout here) and, as a program, inside a small VM with pure cgroup v2
 * ({@code bin/test-cgroup-v2}), where it prints one marker line per scenario:
 * {@code BOX-SCENARIO PASS name} or {@code BOX-SCENARIO FAIL name: why}, then
 * {@code BOX-SCENARIOS DONE passed=N failed=M}; it exits 1 if any failed.
 *
 * <p>The programs run in boxes are perl one-liners: perl forks without retrying (bash waits
 * seconds before giving up on a fork), and measures its own CPU time and memory.
 */
final class BoxScenarios {

    /** Deadline for anything a scenario waits on; generous: in an emulated VM all runs 5-20x slower. */
    static final Duration WAIT = Duration.ofSeconds(Integer.getInteger("forkserver.box.wait", 60));
    /**
     * How much slower than this host the scenarios run (bin/test-cgroup-v2's VM: 20), for the
     * bounds on how soon something happens. Under emulation the guest's clocks also disagree
     * (a process may count more CPU time than wall time passed): CPU figures are then checked
     * against the kernel's own throttling figures only.
     */
    static final int SLOWDOWN = Integer.getInteger("forkserver.box.slowdown", 1);

    private BoxScenarios() {
    }

    /** The host's own layout: boxable, and said in one line. */
    static void detected() {
        CgroupLayout layout = CgroupLayout.detect();
        String line = layout.describe();
        check(line.startsWith("connections are boxed: "), "start-up line: " + line);
        check(!line.contains("\n"), "one line: " + line);
        if (layout.pureV2()) {
            check(line.startsWith("connections are boxed: cgroup v2 at "), line);
        } else if (layout.unified() != null) {
            check(line.startsWith("connections are boxed: hybrid cgroups: "), line);
            check(line.contains("cgroup.kill"), "the hybrid's v2 hierarchy has cgroup.kill: " + line);
        }
    }

    /**
     * A connection forking {@code forkserver.box.forks} sleeps (300; the VM, where each costs a
     * hundred times more, 120) under --child-tasks-max 50 gets 49 of them; processes outside the
     * box still start.
     */
    static void taskLimit() throws Exception {
        int forks = Integer.getInteger("forkserver.box.forks", 300);
        try (ServiceCgroup service = ServiceCgroup.make(true);
             Boxes boxes = Boxes.open(service.layout(), new BoxLimits(null, new TasksMax(50), null))) {
            Box box = boxes.create();
            try (Child bomb = Child.start(box, "perl", "-e",
                    "$| = 1; my $ok = 0; for (1.." + forks + ") { my $p = fork; next unless defined $p;"
                            + " if ($p == 0) { exec 'sleep', '60' } $ok++ } print \"forked $ok\\n\"; sleep 60")) {
                String line = bomb.awaitLine("forked ");
                int forked = Integer.parseInt(line.substring("forked ".length()).trim());
                check(forked <= 49, "forked " + forked + " under a limit of 50 tasks (perl is one)");
                check(forked >= 40, "forked only " + forked + ": the limit should be what stops it");
                check(box.processes().length <= 50, "box holds " + box.processes().length + " processes");
                for (int i = 0; i < 5; i++) { // the rest of the machine is not starved
                    Process other = new ProcessBuilder("true").start();
                    check(other.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS) && other.exitValue() == 0, "a process outside the box");
                }
                int left = box.stop(Duration.ZERO);
                check(left >= 40, "stop found " + left + " processes");
                check(box.processes().length == 0, "the box is empty after stop");
            } finally {
                box.close();
            }
            check(box.removed(), "the box is removed");
        }
    }

    /** A child touching 400 MiB under --child-memory-max 64M is OOM-killed, the box says so; the next box is fine. */
    static void memoryLimit() throws Exception {
        try (ServiceCgroup service = ServiceCgroup.make(true);
             Boxes boxes = Boxes.open(service.layout(), new BoxLimits(MemorySize.parse("64M"), null, null))) {
            try (Box box = boxes.create(); Child hog = Child.start(box, "perl", "-e",
                    "my $x = 'a' x (400 * 1024 * 1024); print length($x), \"\\n\"")) {
                int status = hog.awaitExit();
                check(status == 128 + 9, "the hog ended with " + status + ", not SIGKILL; output: " + hog.output());
                BoxCost cost = box.cost();
                check(cost.oomKilled(), "the box says OOM: " + cost);
                check(cost.memoryPeakBytes() <= 64L << 20, "peak " + cost.memoryPeakBytes() + " over the limit");
                check(cost.memoryPeakBytes() >= 32L << 20, "peak " + cost.memoryPeakBytes() + ": the hog got nowhere near the limit");
            }
            try (Box next = boxes.create(); Child fine = Child.start(next, "perl", "-e", "print 'fine'")) {
                check(fine.awaitExit() == 0 && fine.output().contains("fine"), "the next child: " + fine.output());
                check(!next.cost().oomKilled(), "the next box has no OOM kill");
            }
        }
    }

    /** A child spinning for 2 s under --child-cpu-max 25% gets at most ~0.5 s of CPU. */
    static void cpuLimit() throws Exception {
        try (ServiceCgroup service = ServiceCgroup.make(true);
             Boxes boxes = Boxes.open(service.layout(), new BoxLimits(null, null, CpuPercent.parse("25%")));
             Box box = boxes.create();
             Child spinner = Child.start(box, "perl", "-MTime::HiRes=time", "-e",
                     "my $end = time + 2; 1 while time < $end; my @t = times; printf \"cpu %.3f\\n\", $t[0] + $t[1]")) {
            check(spinner.awaitExit() == 0, "the spinner failed: " + spinner.output());
            double own = Double.parseDouble(spinner.awaitLine("cpu ").substring(4).trim());
            BoxCost cost = box.cost();
            double boxed = cost.cpuSeconds();
            // The kernel's own terms, on its own clock: the box never ran more than its quota (25 ms)
            // per period, and was held back in most periods. (Its throttled time is wall time
            // spent waiting, which depends on what else the machine runs.)
            Path cpuDir = box.directories().stream()
                    .filter(d -> Files.exists(d.resolve("cpu.max")) || Files.exists(d.resolve("cpu.cfs_quota_us")))
                    .findFirst().orElseThrow();
            Map<String, Long> stat = new LinkedHashMap<>();
            for (String line : Files.readAllLines(cpuDir.resolve("cpu.stat"))) {
                String[] kv = line.split(" ");
                stat.put(kv[0], Long.parseLong(kv[1]));
            }
            long periods = stat.get("nr_periods");
            check(boxed <= 0.025 * (periods + 2), "the box ran " + boxed + " s in " + periods + " periods of 100 ms: " + stat);
            check(stat.get("nr_throttled") >= periods / 2, "a spinner under 25% is held back in most periods: " + stat);
            check(cost.throttledMicros() > 0, "the box says it was held back: " + cost);
            check(boxed >= 0.1, "the box used only " + boxed + " s: did it spin?");
            if (SLOWDOWN == 1) {
                // 25 % of 2 s, plus one period's quota (25 ms) for the period the spin ends in.
                check(boxed <= 0.55, "the box used " + boxed + " s of CPU in 2 s under 25% (the spinner says " + own + ")");
                check(own <= 0.55, "the spinner used " + own + " s");
            }
        }
    }

    /** A `sleep &` left behind is found and stopped at once; one ignoring SIGTERM is killed after the grace. */
    static void leftoversStopped() throws Exception {
        try (ServiceCgroup service = ServiceCgroup.make(true);
             Boxes boxes = Boxes.open(service.layout(), BoxLimits.NONE)) {
            try (Box box = boxes.create(); Child child = Child.start(box, "sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!")) {
                check(child.awaitExit() == 0, "the child: " + child.output());
                long sleeper = Long.parseLong(child.output().trim());
                check(Arrays.equals(box.processes(), new long[] {sleeper}), "the box holds the sleep: " + Arrays.toString(box.processes()));
                long start = System.nanoTime();
                check(box.stop(Duration.ofSeconds(5)) == 1, "one leftover");
                double took = (System.nanoTime() - start) / 1e9;
                check(took < SLOWDOWN, "SIGTERM ended the sleep in " + took + " s");
                check(gone(sleeper), "the sleep is gone");
            }
            try (Box box = boxes.create(); Child child = Child.start(box, "sh", "-c",
                    "(trap '' TERM; exec sleep 60) >/dev/null 2>&1 & echo $!")) {
                check(child.awaitExit() == 0, "the child: " + child.output());
                long stubborn = Long.parseLong(child.output().trim());
                // Once it is sleep, the subshell has ignored SIGTERM (sleep inherits that).
                awaitTrue(() -> Files.readString(Path.of("/proc/" + stubborn + "/comm")).trim().equals("sleep"),
                        "the stubborn subshell has become sleep");
                long start = System.nanoTime();
                check(box.stop(Duration.ofMillis(300)) == 1, "one leftover");
                double took = (System.nanoTime() - start) / 1e9;
                check(took >= 0.3 && took < 2 * SLOWDOWN, "SIGKILL after the grace: " + took + " s");
                check(gone(stubborn), "the stubborn sleep is gone");
            }
        }
    }

    /** The box's cost agrees with what the child measured itself: CPU within 10 % + 0.1 s, memory within the interpreter's overhead. */
    static void costAgrees() throws Exception {
        try (ServiceCgroup service = ServiceCgroup.make(true);
             Boxes boxes = Boxes.open(service.layout(), BoxLimits.NONE);
             Box box = boxes.create();
             Child child = Child.start(box, "perl", "-e",
                     "my $x = 'a' x (96 * 1024 * 1024); my $t = 0; while ($t < 0.5) { my @t = times; $t = $t[0] + $t[1] }"
                             + " open(my $s, '<', '/proc/self/status'); my ($hwm) = map { /^VmHWM:\\s+(\\d+)/ ? $1 : () } <$s>;"
                             + " printf \"cpu %.3f hwm %d\\n\", $t, $hwm * 1024")) {
            check(child.awaitExit() == 0, "the child: " + child.output());
            String[] words = child.awaitLine("cpu ").trim().split(" ");
            double ownCpu = Double.parseDouble(words[1]);
            long ownPeak = Long.parseLong(words[3]);
            BoxCost cost = box.cost();
            // Under emulation (SLOWDOWN > 1) the guest's clocks disagree: the figures are there, not compared.
            check(cost.cpuSeconds() > 0, "box cpu " + cost.cpuSeconds() + " s");
            check(SLOWDOWN > 1 || Math.abs(cost.cpuSeconds() - ownCpu) <= 0.1 * ownCpu + 0.1,
                    "box cpu " + cost.cpuSeconds() + " s, the child says " + ownCpu + " s");
            // The box counts what the kernel charged it (anonymous memory, page tables, the page
            // cache it faulted in); perl's VmHWM counts its resident pages, shared libraries too.
            check(Math.abs(cost.memoryPeakBytes() - ownPeak) <= ownPeak / 10 + (16L << 20),
                    "box memory peak " + cost.memoryPeakBytes() + " bytes, the child's VmHWM " + ownPeak);
            check(cost.oomKills() == 0, "no OOM kill: " + cost);
            check(!box.place(child.pid()), "placing a child that has exited and been reaped says it is gone");
        }
    }

    /** Where a controller is missing, a limit is one line naming it; with none asked, boxes still work. */
    static void missingController() throws Exception {
        String procSelf = Files.readString(Path.of("/proc/self/cgroup"));
        String mountinfo = Files.readString(Path.of("/proc/self/mountinfo"));
        // This host as if it had no pids controller anywhere (neither v1 nor offered on v2).
        String withoutPids = procSelf.lines().filter(l -> !l.contains(":pids:")).reduce("", (a, b) -> a + b + "\n");
        CgroupLayout layout = CgroupLayout.of(withoutPids, mountinfo);
        if (layout.hierarchyOf(CgroupLayout.Controller.PIDS) != null) {
            return; // pure v2: pids is offered on the unified hierarchy, not on a line of its own
        }
        String problem = layout.problem(new BoxLimits(null, new TasksMax(10), null)).orElseThrow();
        check(problem.startsWith("--child-tasks-max needs the pids controller"), problem);
        check(!problem.contains("\n"), "one line: " + problem);
        try {
            Boxes.open(layout, new BoxLimits(null, new TasksMax(10), null)).close();
            check(false, "Boxes.open with a missing controller");
        } catch (IOException e) {
            check(e.getMessage().equals(problem), e.getMessage());
        }
    }

    /** A box that cannot be made whole is not made at all: nothing of it is left. */
    static void wholeOrAbsent() throws Exception {
        try (ServiceCgroup service = ServiceCgroup.make(true)) {
            CgroupLayout layout = service.layout();
            CgroupLayout.Hierarchy pids = layout.hierarchyOf(CgroupLayout.Controller.PIDS);
            if (pids == null || pids.v2()) {
                // Pure v2: one directory per box, nothing to leave half made. Check a refused limit instead.
                try (Boxes boxes = Boxes.open(layout, new BoxLimits(null, new TasksMax(10), null))) {
                    Files.writeString(layout.unified().own().resolve("pids.max"), "max"); // still creatable
                    boxes.create().close();
                }
                return;
            }
            try (Boxes boxes = Boxes.open(layout, new BoxLimits(null, new TasksMax(10), null))) {
                Files.delete(pids.own()); // the service's pids cgroup goes away: the box's mkdir there fails
                try {
                    boxes.create();
                    check(false, "a box without its pids cgroup");
                } catch (IOException e) {
                    check(e.getMessage().startsWith("cannot make box box-"), e.getMessage());
                }
                check(boxes.open() == 0, "no box is known");
                check(service.leftovers().isEmpty(), "nothing of the box is left: " + service.leftovers());
                Files.createDirectory(pids.own()); // for the service's own removal
            }
        }
    }

    /** Without cgroup.kill (a v1-only host), leftovers that keep forking are killed too, process by process. */
    static void killWithoutCgroupKill() throws Exception {
        if (CgroupLayout.detect().pureV2()) {
            return; // no v1 hierarchy to try it on
        }
        try (ServiceCgroup service = ServiceCgroup.make(false);
             Boxes boxes = Boxes.open(service.layout(), new BoxLimits(null, new TasksMax(64), null))) {
            check(service.layout().unified() == null, "a v1-only layout");
            try (Box box = boxes.create(); Child child = Child.start(box, "perl", "-e",
                    "$| = 1; exit if fork; close STDOUT; close STDERR;"
                            + " while (1) { my $p = fork; if (defined $p && $p == 0) { sleep 60; exit } select(undef, undef, undef, 0.005) }")) {
                check(child.awaitExit() == 0, "the child: " + child.output());
                awaitTrue(() -> box.processes().length >= 5, "the forker forks");
                int left = box.stop(Duration.ofMillis(100));
                check(left >= 5, "leftovers: " + left);
                check(box.processes().length == 0, "all killed");
            }
        }
    }

    /**
     * cgroup v2, the supervisor's cgroup shared with another process (a login shell's, say): no
     * box can have controllers, since the supervisor may not move the other out. Limits are a
     * one-line refusal naming Delegate=yes; without limits, boxes still contain, count CPU and kill,
     * without memory figures.
     */
    static void sharedCgroup() throws Exception {
        try (ServiceCgroup service = ServiceCgroup.make(true)) {
            if (!service.layout().pureV2()) {
                return; // the hybrid layout's v2 hierarchy has no controllers to give
            }
            Process other = new ProcessBuilder("sleep", "60").start();
            try {
                forkserver.posix.Posix.writeFile(service.layout().unified().own().resolve("cgroup.procs").toString(),
                        Long.toString(other.pid()));
                try (Boxes boxes = Boxes.open(service.layout(), BoxLimits.NONE);
                     Box box = boxes.create();
                     Child child = Child.start(box, "perl", "-e", "my $t = 0; $t += $_ for 1 .. 1e6")) {
                    check(child.awaitExit() == 0, "the child: " + child.output());
                    BoxCost cost = box.cost();
                    check(cost.cpuMicros() > 0, "CPU counted: " + cost);
                    check(cost.memoryPeakBytes() == BoxCost.UNKNOWN, "no memory figures without the controller: " + cost);
                }
                try {
                    Boxes.open(service.layout(), new BoxLimits(null, new TasksMax(10), null)).close();
                    check(false, "a limit in a shared cgroup");
                } catch (IOException e) {
                    check(e.getMessage().contains("1 other processes than the supervisor") && e.getMessage().contains("Delegate=yes"),
                            e.getMessage());
                }
            } finally {
                other.destroyForcibly();
                other.waitFor(); // reaped, it leaves the service's cgroup
            }
        }
    }

    /**
     * The wired supervisor, as an operator runs it: started in a service cgroup of its own (as
     * systemd starts a unit with Delegate=yes) from its jar ({@code forkserver.box.supervisor},
     * set by bin/test-cgroup-v2), with --child-memory-max 64M, --child-tasks-max 20 and
     * --child-cpu-max 50%, serving one client after another: a fork bomb held to its tasks, a
     * memory hog OOM-killed alone, a spinner held to its quota, a leftover killed at its
     * connection's end; each end line with its cost; an echo served after them all; nothing left
     * after SIGTERM. Prints the end lines ({@code BOX-END ...}).
     */
    static void wiredSupervisor() throws Exception {
        String jar = System.getProperty("forkserver.box.supervisor");
        check(jar != null && Files.isRegularFile(Path.of(jar)), "-Dforkserver.box.supervisor=JAR names no jar: " + jar);
        String java = ProcessHandle.current().info().command().orElseThrow();
        // Each connection's program: one command from the client, its answer, then the exit.
        String program = "$| = 1; my $c = <STDIN>; $c =~ s/\\s+$//;"
                + " if ($c eq 'leave') { if (fork == 0) { close STDIN; close STDOUT; exec 'sleep', '60' } print \"left\\n\"; exit 0 }"
                + " if ($c eq 'bomb') { my $ok = 0; for (1..60) { my $p = fork; next unless defined $p;"
                + " if ($p == 0) { close STDIN; close STDOUT; sleep 60; exit 0 } $ok++ } print \"forked $ok\\n\"; exit 0 }"
                + " if ($c eq 'hog') { my $n = 400; my $x = 'a' x ($n * 1024 * 1024); print \"survived\\n\"; exit 0 }"
                + " if ($c eq 'spin') { my $end = time + 3; 1 while time < $end; my @t = times; printf \"cpu %.3f\\n\", $t[0] + $t[1]; exit 0 }"
                + " print \"echo $c\\n\"";
        CgroupLayout.Hierarchy unified = CgroupLayout.detect().unified();
        try (ServiceCgroup service = ServiceCgroup.make(true)) {
            // The supervisor alone in its service's cgroup, as under systemd: this JVM steps out.
            if (service.layout().pureV2()) {
                Files.writeString(unified.own().resolve("cgroup.procs"), Long.toString(ProcessHandle.current().pid()));
            }
            Process supervisor = new ProcessBuilder(service.inside(List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                    "-jar", jar, "--listen", "127.0.0.1:0", "--child-memory-max", "64M", "--child-tasks-max", "20",
                    "--child-cpu-max", "50%", "--kill-grace", "1s", "--stdio", "inout", "--", "perl", "-MTime::HiRes=time", "-e", program)))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            List<String> log = new CopyOnWriteArrayList<>();
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(supervisor.getErrorStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        log.add(line);
                    }
                } catch (IOException e) {
                    // the supervisor is gone
                }
            });
            try {
                awaitTrue(() -> log.stream().anyMatch(l -> l.contains("listening on ")), "the supervisor listens: " + log);
                String listening = log.stream().filter(l -> l.contains("listening on ")).findFirst().orElseThrow();
                int port = Integer.parseInt(listening.replaceAll(".*listening on \\S*:(\\d+).*", "$1"));
                awaitTrue(() -> log.stream().anyMatch(l -> l.contains("connections are boxed: ")), "the start-up line: " + log);
                log.stream().filter(l -> l.contains("connections are boxed")).forEach(l -> System.out.println("BOX-START " + l));

                String forked = session(port, "bomb");
                int n = Integer.parseInt(forked.substring("forked ".length()).trim());
                check(n <= 19 && n >= 10, "the bomb forked " + n + " under --child-tasks-max 20");
                String bombEnd = awaitEnd(log, 1);
                check(bombEnd.contains("status=0") && bombEnd.contains("leftovers=" + n), "the bomb's end: " + bombEnd);

                check(session(port, "hog") == null, "the hog answered");
                String hogEnd = awaitEnd(log, 2);
                check(hogEnd.contains("signal=KILL") && hogEnd.contains("oom-kill=1"), "the hog's end: " + hogEnd);

                String spun = session(port, "spin");
                double own = Double.parseDouble(spun.substring("cpu ".length()).trim());
                String spinEnd = awaitEnd(log, 3);
                double cpu = Double.parseDouble(spinEnd.replaceAll(".* cpu=([0-9.]+)s.*", "$1"));
                check(cpu >= 0.1, "the spinner's box counted " + cpu + " s");
                if (SLOWDOWN == 1) { // under emulation the guest's clocks disagree: cpu-limit checks the kernel's own terms
                    check(own <= 1.5 + 0.1 && cpu <= 1.5 + 0.1, "3 s of spinning under 50%: cpu=" + cpu + " s, the spinner says " + own);
                }

                check("left".equals(session(port, "leave")), "the leaver answered");
                String leaveEnd = awaitEnd(log, 4);
                check(leaveEnd.contains("leftovers=1") && leaveEnd.contains("memory-peak="), "the leaver's end: " + leaveEnd);
                check(ProcessHandle.allProcesses().noneMatch(p -> p.info().commandLine().orElse("").equals("sleep 60")),
                        "no sleep 60 is left once its end line is written");

                check("echo hello".equals(session(port, "hello")), "an echo after them all");
                awaitEnd(log, 5);
                log.stream().filter(l -> l.contains(" end ")).forEach(l -> System.out.println("BOX-END " + l));
            } catch (Exception | AssertionError e) {
                supervisor.destroy(); // its last lines (a child's stderr, end lines, the drain), then its whole log
                supervisor.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS);
                reader.join(WAIT.toMillis());
                log.forEach(l -> System.out.println("BOX-LOG " + l));
                System.out.println("BOX-LOG the supervisor " + (supervisor.isAlive() ? "runs" : "exited with " + supervisor.exitValue()));
                throw e;
            } finally {
                supervisor.destroy(); // SIGTERM: the drain, then every box removed
                check(supervisor.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "the supervisor stops on SIGTERM");
                reader.join(WAIT.toMillis());
            }
            check(supervisor.exitValue() == 0, "the supervisor's exit: " + supervisor.exitValue() + "; " + log);
            check(service.leftovers().isEmpty(), "boxes left after stop: " + service.leftovers());
        }
    }

    /** One client: sends {@code command}, returns the line it gets back (null: the connection closed first). */
    private static String session(int port, String command) throws IOException {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout((int) WAIT.toMillis());
            socket.getOutputStream().write((command + "\n").getBytes(StandardCharsets.UTF_8));
            return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }

    /** The {@code n}th end line of the supervisor's log, waited for. */
    private static String awaitEnd(List<String> log, int n) throws IOException, InterruptedException {
        awaitTrue(() -> log.stream().filter(l -> l.contains(" end ")).count() >= n, n + " end lines: " + log);
        return log.stream().filter(l -> l.contains(" end ")).skip(n - 1).findFirst().orElseThrow();
    }

    /** The scenarios by name, for the VM's program: the short subset first. */
    static Map<String, Scenario> all() {
        Map<String, Scenario> all = new LinkedHashMap<>();
        all.put("detected", BoxScenarios::detected);
        all.put("task-limit", BoxScenarios::taskLimit);
        all.put("memory-limit", BoxScenarios::memoryLimit);
        all.put("cpu-limit", BoxScenarios::cpuLimit);
        all.put("leftovers-stopped", BoxScenarios::leftoversStopped);
        all.put("cost-agrees", BoxScenarios::costAgrees);
        all.put("missing-controller", BoxScenarios::missingController);
        all.put("whole-or-absent", BoxScenarios::wholeOrAbsent);
        all.put("kill-without-cgroup-kill", BoxScenarios::killWithoutCgroupKill);
        all.put("shared-cgroup", BoxScenarios::sharedCgroup);
        all.put("wired-supervisor", BoxScenarios::wiredSupervisor);
        return all;
    }

    @FunctionalInterface
    interface Scenario {
        void run() throws Exception;
    }

    /** Runs the scenarios named in {@code args} (all when none), one marker line each. */
    public static void main(String[] args) {
        Map<String, Scenario> all = all();
        List<String> names = args.length == 0 ? new ArrayList<>(all.keySet()) : Arrays.asList(args);
        int passed = 0;
        int failed = 0;
        for (String name : names) {
            Scenario scenario = all.get(name);
            long start = System.nanoTime();
            try {
                if (scenario == null) {
                    throw new IllegalArgumentException("no such scenario");
                }
                scenario.run();
                passed++;
                System.out.printf("BOX-SCENARIO PASS %s %.1fs%n", name, (System.nanoTime() - start) / 1e9);
            } catch (Throwable t) {
                failed++;
                System.out.println("BOX-SCENARIO FAIL " + name + ": " + String.valueOf(t).replace('\n', ' '));
                t.printStackTrace(System.out);
            }
        }
        System.out.println("BOX-SCENARIOS DONE passed=" + passed + " failed=" + failed);
        System.exit(failed == 0 ? 0 : 1);
    }

    static void check(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }

    /**
     * Whether process {@code pid} has ended: no longer there, or a zombie (its new parent, init or
     * a subreaper, reaps it when it gets to it).
     */
    static boolean gone(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state == 'Z' || state == 'X';
        } catch (IOException e) {
            return true;
        }
    }

    interface Condition {
        boolean holds() throws IOException;
    }

    static void awaitTrue(Condition condition, String what) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.holds()) {
            check(System.nanoTime() - deadline < 0, "timed out waiting: " + what);
            Thread.sleep(10);
        }
    }

    /**
     * A program run in a box as the supervisor would run it: behind {@link Box#selfPlacing} (it
     * joins the box before it execs) and placed by pid too; its output (stdout and stderr) read
     * on a thread of its own. Closing kills it if it still runs.
     */
    static final class Child implements AutoCloseable {
        private final Process process;
        private final List<String> lines = new CopyOnWriteArrayList<>();
        private final Thread reader;

        private Child(Process process) {
            this.process = process;
            this.reader = Thread.ofVirtual().start(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    lines.add("(read failed: " + e + ")");
                }
            });
        }

        static Child start(Box box, String... command) throws IOException {
            ProcessBuilder builder = new ProcessBuilder(Box.selfPlacing(List.of(command))).redirectErrorStream(true);
            builder.environment().putAll(box.environment());
            Process process = builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            try {
                box.place(process.pid());
            } catch (IOException e) {
                if (process.isAlive()) {
                    process.destroyForcibly();
                    throw e;
                }
            }
            return new Child(process);
        }

        String awaitLine(String prefix) throws IOException, InterruptedException {
            awaitTrue(() -> lines.stream().anyMatch(l -> l.startsWith(prefix)) || !process.isAlive() && !reader.isAlive(),
                    "a line starting '" + prefix + "'");
            return lines.stream().filter(l -> l.startsWith(prefix)).findFirst()
                    .orElseThrow(() -> new AssertionError("no line '" + prefix + "...' in: " + lines));
        }

        int awaitExit() throws InterruptedException {
            check(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "the child did not end");
            reader.join(WAIT);
            return process.exitValue();
        }

        String output() {
            return String.join("\n", lines);
        }

        long pid() {
            return process.pid();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }
}
