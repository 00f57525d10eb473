package forkserver.supervisor.box;

import forkserver.posix.Posix;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The limit options' values as an operator writes them, and the one-line errors for the rest. */
class BoxValuesTest {

    @Test
    void memorySizes() {
        assertEquals(64L << 20, MemorySize.parse("64M").bytes());
        assertEquals(1L << 30, MemorySize.parse("1G").bytes());
        assertEquals(1L << 30, MemorySize.parse("1g").bytes());
        assertEquals(1536L << 10, MemorySize.parse("1536K").bytes());
        assertEquals(2L << 20, MemorySize.parse("2097152").bytes());
        assertEquals(64L << 20, MemorySize.parse(" 64MiB ").bytes());
        assertEquals("64M", MemorySize.parse("65536K").toString());
        assertEquals("1536K", MemorySize.parse("1536K").toString());
        assertEquals("expected a size such as 64M or 1G, got '64Q'", message(() -> MemorySize.parse("64Q")));
        assertEquals("expected a size such as 64M or 1G, got '-1M'", message(() -> MemorySize.parse("-1M")));
        assertEquals("'512K' is too small: at least 1M (a program cannot start in less)", message(() -> MemorySize.parse("512K")));
        assertEquals("'99999999999999999999T' is too large: at most 1024T", message(() -> MemorySize.parse("99999999999999999999T")));
    }

    @Test
    void tasks() {
        assertEquals(48, TasksMax.parse("48").tasks());
        assertEquals("expected a number of tasks (processes and threads), got '4x'", message(() -> TasksMax.parse("4x")));
        assertEquals("'0' is too small: at least 1 (the connection's own process)", message(() -> TasksMax.parse("0")));
        assertEquals("'99999999999' is too large: at most 4194304 (the kernel's largest pid_max)",
                message(() -> TasksMax.parse("99999999999")));
    }

    @Test
    void cpuPercents() {
        assertEquals(50_000, CpuPercent.parse("50%").quotaMicros());
        assertEquals(200_000, CpuPercent.parse("200%").quotaMicros());
        assertEquals(25_000, CpuPercent.parse("25").quotaMicros());
        assertEquals("50%", CpuPercent.parse("50").toString());
        assertEquals("expected a percentage of one core such as 50% or 200%, got 'half'", message(() -> CpuPercent.parse("half")));
        assertEquals("'0%' is too small: at least 1% (1 ms per 100 ms)", message(() -> CpuPercent.parse("0%")));
        assertEquals("'1000000%' is too large: at most 100000% (a thousand cores)", message(() -> CpuPercent.parse("1000000%")));
    }

    @Test
    void limitsSayWhatIsSet() {
        assertEquals("", BoxLimits.NONE.toString());
        assertFalse(BoxLimits.NONE.any());
        BoxLimits all = new BoxLimits(MemorySize.parse("192M"), TasksMax.parse("48"), CpuPercent.parse("50%"));
        assertEquals("memory=192M tasks=48 cpu=50%", all.toString());
        assertTrue(all.any());
    }

    @Test
    void costSinceABaseline() {
        BoxCost warm = new BoxCost(400_000, 30L << 20, 0, -1);
        BoxCost end = new BoxCost(1_500_000, 50L << 20, 1, -1);
        assertEquals(new BoxCost(1_100_000, 50L << 20, 1, -1), end.since(warm));
        assertEquals(1.1, end.since(warm).cpuSeconds());
        assertEquals(-1, new BoxCost(-1, -1, -1, -1).since(warm).cpuMicros());
    }

    @Test
    void rlimits() {
        ChildRlimit nofile = ChildRlimit.parse("nofile=1024:4096");
        assertEquals(ChildRlimit.Resource.NOFILE, nofile.resource());
        assertEquals(1024, nofile.soft());
        assertEquals(4096, nofile.hard());
        assertEquals("nofile=1024:4096", nofile.toString());
        assertEquals("core=0", ChildRlimit.parse("core=0").toString());
        assertEquals(64L << 20, ChildRlimit.parse("fsize=64M").soft());
        assertEquals(Posix.RLIM_INFINITY, ChildRlimit.parse("cpu=10:unlimited").hard());
        assertTrue(ChildRlimit.parse("nofile=64").warning().isEmpty());
        assertTrue(ChildRlimit.parse("as=1G").warning().orElseThrow().contains("a JVM reserves far more address space"));
        assertTrue(ChildRlimit.parse("nproc=100").warning().orElseThrow().contains("--child-tasks-max"));
        assertEquals("expected NAME=SOFT[:HARD] such as nofile=1024 or core=0, got 'nofile'", message(() -> ChildRlimit.parse("nofile")));
        assertEquals("'stack' is not a limit one can set: expected nofile, core, cpu, fsize, nproc or as",
                message(() -> ChildRlimit.parse("stack=8M")));
        assertEquals("nofile: expected a number of descriptors or unlimited, got '1K'", message(() -> ChildRlimit.parse("nofile=1K")));
        assertEquals("'nofile=4096:1024': the soft limit is above the hard one", message(() -> ChildRlimit.parse("nofile=4096:1024")));
        assertEquals("'nofile=unlimited:1024': the soft limit is above the hard one",
                message(() -> ChildRlimit.parse("nofile=unlimited:1024")));
    }

    /** prlimit(2) on a real child: /proc/PID/limits says the new values. */
    @Test
    void rlimitsApplyToAChild() throws Exception {
        Process sleep = new ProcessBuilder("sleep", "30").start();
        try {
            ChildRlimit.apply(sleep.pid(), List.of(ChildRlimit.parse("nofile=100:200"), ChildRlimit.parse("core=0")));
            String limits = Files.readString(Path.of("/proc/" + sleep.pid() + "/limits"));
            assertTrue(limits.lines().anyMatch(l -> l.matches("Max open files\\s+100\\s+200\\s+files\\s*")), limits);
            assertTrue(limits.lines().anyMatch(l -> l.matches("Max core file size\\s+0\\s+0\\s+bytes\\s*")), limits);
            assertEquals(100, Posix.prlimit(sleep.pid(), Posix.RLIMIT_NOFILE)[0]);
        } finally {
            sleep.destroyForcibly();
            sleep.waitFor(10, TimeUnit.SECONDS);
        }
        assertEquals("ESRCH", assertThrows(forkserver.posix.ErrnoException.class,
                () -> ChildRlimit.apply(sleep.pid(), List.of(ChildRlimit.parse("nofile=10")))).name());
    }

    /**
     * The shell step sets what its ulimit can say before the command runs, raising or lowering
     * either limit, with the values /proc shows; what it cannot say is left to prlimit(2).
     */
    @Test
    void theShellStepSetsRlimitsBeforeTheCommand() throws Exception {
        List<ChildRlimit> limits = List.of(ChildRlimit.parse("nofile=100:200"), ChildRlimit.parse("core=0"),
                ChildRlimit.parse("fsize=1M:unlimited"), ChildRlimit.parse("cpu=30"), ChildRlimit.parse("as=unlimited"));
        Process cat = new ProcessBuilder(Box.selfPlacing(List.of("cat", "/proc/self/limits"), limits)).start();
        String text = new String(cat.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(cat.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, cat.exitValue(), text);
        assertTrue(text.lines().anyMatch(l -> l.matches("Max open files\\s+100\\s+200\\s+files\\s*")), text);
        assertTrue(text.lines().anyMatch(l -> l.matches("Max core file size\\s+0\\s+0\\s+bytes\\s*")), text);
        assertTrue(text.lines().anyMatch(l -> l.matches("Max file size\\s+1048576\\s+unlimited\\s+bytes\\s*")), text);
        assertTrue(text.lines().anyMatch(l -> l.matches("Max cpu time\\s+30\\s+30\\s+seconds\\s*")), text);

        assertEquals(List.of("nproc=10", "core=1000"), ChildRlimit.afterStart(List.of(ChildRlimit.parse("nproc=10"),
                ChildRlimit.parse("core=1000"), ChildRlimit.parse("core=1024"), ChildRlimit.parse("as=1G"))).stream()
                .map(ChildRlimit::toString).toList());

        // Refused (above fs.nr_open even for root): the command never runs.
        Process refused = new ProcessBuilder(Box.selfPlacing(List.of("echo", "ran"), List.of(ChildRlimit.parse("nofile=2000000000"))))
                .redirectErrorStream(true).start();
        String said = new String(refused.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(refused.waitFor(10, TimeUnit.SECONDS));
        assertEquals(126, refused.exitValue(), said);
        assertFalse(said.contains("ran"), said);
    }

    private static String message(Runnable parse) {
        return assertThrows(IllegalArgumentException.class, parse::run).getMessage();
    }
}
