package forkserver.supervisor.box;

import forkserver.posix.Errno;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * One connection's box: a cgroup in each hierarchy the supervisor uses (one on cgroup v2, several
 * in the hybrid layout), holding the connection's child and everything it starts, with the limits
 * of {@link BoxLimits}. Made by {@link Boxes#create}; one owner calls it, in the order of a
 * child's life: {@link #place} (or the child places itself: {@link #environment}), {@link #cost}
 * after the child has exited, {@link #stop} what it left, then {@link #remove}. {@link #close} does
 * the last two on any path and never throws.
 *
 * <p>Not thread-safe: the registry that owns the child owns its box.
 */
public final class Box implements AutoCloseable {

    /**
     * A child started through a script may place itself before it execs anything (closing the
     * window in which it runs outside its limits): this variable names the {@code cgroup.procs}
     * files to write its pid into, separated by {@code :}. bin/worker honours it.
     */
    public static final String PROCS_VARIABLE = "FORKSERVER_BOX_PROCS";

    /** How long a box may take to empty once SIGKILLed: a process in uninterruptible sleep can hold it. */
    static final Duration KILL_DEADLINE = Duration.ofSeconds(5);
    // A SIGKILLed process leaves its cgroup within microseconds on an idle machine: the first
    // looks come soon, the later ones less often (a process in uninterruptible sleep can take seconds).
    private static final long FIRST_PAUSE_NANOS = 50_000;
    private static final long LAST_PAUSE_NANOS = 16_000_000;

    /** How long rmdir is retried while the kernel finishes with the last exited process. */
    static final Duration REMOVE_DEADLINE = Duration.ofSeconds(2);

    // /bin/sh -c SCRIPT forkserver-box COMMAND...: joins the box, sets the rlimits, then becomes
    // COMMAND. No glob (set -f) and IFS=: split the variable into file names; a failed write or
    // ulimit refuses to run the command outside its limits.
    private static final String JOIN_THE_BOX = "set -f; IFS=:; for f in $" + PROCS_VARIABLE
            + "; do echo $$ >\"$f\" || exit 126; done; unset " + PROCS_VARIABLE + " IFS; ";

    /** One of the box's cgroups: its directory and what the box uses it for. */
    record Part(Path directory, Boxes.Use use) {
    }

    private final Boxes owner;
    private final String name;
    private final List<Part> parts;
    private final Part containment;
    private boolean removed;

    Box(Boxes owner, String name, List<Part> parts) {
        this.owner = owner;
        this.name = name;
        this.parts = List.copyOf(parts);
        this.containment = parts.getFirst();
    }

    /** The cgroup's name, the same in every hierarchy: {@code box-PID-N}. */
    public String name() {
        return name;
    }

    /** The box's directories, the one that says what is in it first. */
    public List<Path> directories() {
        return parts.stream().map(Part::directory).toList();
    }

    /**
     * Moves process {@code pid} (a spawned child, not yet reaped) into the box, in every
     * hierarchy; its later children are born inside. Its threads move with it. Returns false when
     * the process has already exited (ESRCH; a zombie cannot move): what it started before then
     * is outside the box, unless it placed itself ({@link #environment}).
     */
    public boolean place(long pid) throws IOException {
        for (Part part : parts) {
            try {
                Posix.writeFile(part.directory().resolve("cgroup.procs").toString(), Long.toString(pid));
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ESRCH) {
                    return false;
                }
                throw new IOException("cannot place pid " + pid + " in " + part.directory() + ": " + e.reason(), e);
            }
        }
        return true;
    }

    /** The cgroup.procs files a process writes its pid into to join the box, in every hierarchy. */
    public List<Path> procsFiles() {
        return parts.stream().map(p -> p.directory().resolve("cgroup.procs")).toList();
    }

    /**
     * The variables a self-placing child needs ({@link #PROCS_VARIABLE}); empty when a directory's
     * name has a {@code :} in it, which the list cannot carry (the supervisor's placement still holds).
     */
    public Map<String, String> environment() {
        StringJoiner files = new StringJoiner(":");
        for (Path file : procsFiles()) {
            if (file.toString().contains(":")) {
                return Map.of();
            }
            files.add(file.toString());
        }
        return Map.of(PROCS_VARIABLE, files.toString());
    }

    /**
     * {@code command} behind a {@code /bin/sh} that joins the box (from {@link #PROCS_VARIABLE};
     * none when it is unset) and sets {@code rlimits} with its {@code ulimit} (those
     * {@link ChildRlimit#shellCommand} can say) before it execs the command: the command's first
     * instruction runs inside its limits, for the price of one shell's exec.
     */
    public static List<String> selfPlacing(List<String> command, List<ChildRlimit> rlimits) {
        StringBuilder script = new StringBuilder(JOIN_THE_BOX);
        for (ChildRlimit limit : rlimits) {
            limit.shellCommand().ifPresent(ulimit -> script.append(ulimit).append(" || exit 126; "));
        }
        script.append("exec \"$@\"");
        List<String> wrapped = new ArrayList<>(List.of("/bin/sh", "-c", script.toString(), "forkserver-box"));
        wrapped.addAll(command);
        return wrapped;
    }

    /** {@link #selfPlacing(List, List)} without rlimits. */
    public static List<String> selfPlacing(List<String> command) {
        return selfPlacing(command, List.of());
    }

    /**
     * A box's share of the CPU against its siblings when the CPU is contended: a spare warming up
     * or waiting is background work, the connection it then serves is foreground.
     */
    public enum Weight {
        /** The kernel's default: as much as any other box or process beside it. */
        FOREGROUND(100),
        /** A tenth of that: a spare's warm-up yields to the connections being served. */
        BACKGROUND(10);

        /** The v2 {@code cpu.weight} (1 to 10000, default 100); v1's {@code cpu.shares} is its 1024/100. */
        final int v2;

        Weight(int v2) {
            this.v2 = v2;
        }

        /** The v1 {@code cpu.shares} of the same share, as the kernel converts (default 1024). */
        int v1Shares() {
            return v2 * 1024 / 100;
        }
    }

    /**
     * Sets the box's CPU weight, where its {@link Boxes} weighs boxes (else does nothing): what a
     * contended CPU gives the processes in it against their siblings, throttling nothing when
     * the CPU is idle. Returns whether a weight was written.
     */
    public boolean weigh(Weight weight) throws IOException {
        boolean written = false;
        for (Part part : parts) {
            if (part.use().weight()) {
                String file = part.use().v2() ? "cpu.weight" : "cpu.shares";
                Posix.writeFile(part.directory().resolve(file).toString(),
                        Integer.toString(part.use().v2() ? weight.v2 : weight.v1Shares()));
                written = true;
            }
        }
        return written;
    }

    /** The file that holds the box's CPU weight, or null when its boxes are not weighed. */
    public Path weightFile() {
        for (Part part : parts) {
            if (part.use().weight()) {
                return part.directory().resolve(part.use().v2() ? "cpu.weight" : "cpu.shares");
            }
        }
        return null;
    }

    /** The pids in the box now (zombies are not: they have left their cgroups). */
    public long[] processes() throws IOException {
        try {
            String text = Files.readString(containment.directory().resolve("cgroup.procs"));
            return text.lines().filter(line -> !line.isBlank()).mapToLong(Long::parseLong).toArray();
        } catch (NoSuchFileException e) {
            return new long[0];
        }
    }

    /** What the box's processes cost so far, the exited ones included. */
    public BoxCost cost() throws IOException {
        long cpu = BoxCost.UNKNOWN;
        long peak = BoxCost.UNKNOWN;
        long oomKills = BoxCost.UNKNOWN;
        long throttled = BoxCost.UNKNOWN;
        for (Part part : parts) {
            Path dir = part.directory();
            if (part.use().limits().contains(CgroupLayout.Controller.CPU)) {
                throttled = part.use().v2()
                        ? keyed(dir.resolve("cpu.stat"), "throttled_usec")
                        : keyed(dir.resolve("cpu.stat"), "throttled_time") / 1000;
            }
            if (part.use().cpuAccounting()) {
                cpu = part.use().v2()
                        ? keyed(dir.resolve("cpu.stat"), "usage_usec")
                        : number(dir.resolve("cpuacct.usage")) / 1000;
            }
            if (part.use().memory()) {
                if (part.use().v2()) {
                    Path file = dir.resolve("memory.peak"); // Linux 5.19
                    peak = Files.exists(file) ? number(file) : BoxCost.UNKNOWN;
                    oomKills = keyed(dir.resolve("memory.events"), "oom_kill");
                } else {
                    peak = number(dir.resolve("memory.max_usage_in_bytes"));
                    oomKills = keyed(dir.resolve("memory.oom_control"), "oom_kill");
                }
            }
        }
        return new BoxCost(cpu, peak, oomKills, throttled);
    }

    /**
     * Stops everything left in the box: SIGTERM, then after {@code grace} (zero: at once) SIGKILL,
     * with cgroup.kill where a v2 hierarchy has it (nothing can fork its way out of that), else
     * process by process until none is left. Returns how many processes were in the box when
     * called (the connection's leftovers); throws when some are still there after
     * {@link #KILL_DEADLINE} (a process stuck in the kernel).
     */
    public int stop(Duration grace) throws IOException {
        long[] found = processes();
        if (found.length == 0) {
            return 0;
        }
        if (!grace.isZero() && !grace.isNegative()) {
            signalAll(Posix.SIGTERM);
            if (awaitEmpty(System.nanoTime() + grace.toNanos(), false)) {
                return found.length;
            }
        }
        Path kill = containment.use().v2() ? containment.directory().resolve("cgroup.kill") : null;
        if (kill != null && Files.exists(kill)) {
            Posix.writeFile(kill.toString(), "1");
            if (awaitEmpty(System.nanoTime() + KILL_DEADLINE.toNanos(), false)) {
                return found.length;
            }
        } else if (awaitEmpty(System.nanoTime() + KILL_DEADLINE.toNanos(), true)) {
            return found.length;
        }
        throw new IOException("box " + name + ": " + processes().length + " processes still there "
                + KILL_DEADLINE.toSeconds() + " s after SIGKILL");
    }

    /**
     * Removes the box's cgroups (every hierarchy), retrying while the kernel finishes with its last
     * processes, up to {@link #REMOVE_DEADLINE}. Throws when one cannot be removed (processes are
     * still in it: {@link #stop} first); the box stays known to {@link Boxes}, which tries again
     * when it closes.
     */
    public void remove() throws IOException {
        if (removed) {
            return;
        }
        long deadline = System.nanoTime() + REMOVE_DEADLINE.toNanos();
        IOException failure = null;
        for (Part part : parts) {
            long pause = FIRST_PAUSE_NANOS;
            while (true) {
                try {
                    Files.deleteIfExists(part.directory());
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() - deadline > 0) {
                        IOException next = new IOException("cannot remove " + part.directory() + ": " + reason(e), e);
                        if (failure == null) {
                            failure = next;
                        } else {
                            failure.addSuppressed(next);
                        }
                        break;
                    }
                    pause = pauseUpTo(pause);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        removed = true;
        owner.forget(this);
    }

    /** {@link #stop} at once and {@link #remove}, for every path, the error paths first: never throws. */
    @Override
    public void close() {
        try {
            stop(Duration.ZERO);
        } catch (IOException | RuntimeException e) {
            // remove() below fails too and the box stays with its owner, who retries at its close.
        }
        try {
            remove();
        } catch (IOException | RuntimeException e) {
            // As above.
        }
    }

    public boolean removed() {
        return removed;
    }

    @Override
    public String toString() {
        return name;
    }

    /**
     * Signals each process in the box through a pidfd, taken before the box is read again, so that
     * a pid that ended and was reused by a process outside the box in between is never signalled.
     */
    private void signalAll(int signal) throws IOException {
        Map<Long, Integer> pidfds = new HashMap<>();
        try {
            for (long pid : processes()) {
                try {
                    pidfds.put(pid, Posix.pidfdOpen(pid));
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.ESRCH) {
                        throw e;
                    }
                }
            }
            Set<Long> still = new HashSet<>();
            for (long pid : processes()) {
                still.add(pid);
            }
            for (Map.Entry<Long, Integer> entry : pidfds.entrySet()) {
                if (still.contains(entry.getKey())) {
                    Posix.pidfdSignal(entry.getValue(), signal);
                }
            }
        } finally {
            for (int fd : pidfds.values()) {
                try {
                    Posix.close(fd);
                } catch (ErrnoException e) {
                    // A descriptor we opened above: close cannot fail but for EINTR, after which it is closed.
                }
            }
        }
    }

    /**
     * Waits until the box is empty or the deadline passes, polling with a growing pause (50 µs to
     * 16 ms); with {@code keepKilling}, SIGKILLs what is there on every turn (on v1, where there is no
     * cgroup.kill, a process may fork between one round and the next).
     */
    private boolean awaitEmpty(long deadline, boolean keepKilling) throws IOException {
        long pause = FIRST_PAUSE_NANOS;
        while (true) {
            if (keepKilling) {
                signalAll(Posix.SIGKILL);
            }
            if (processes().length == 0) {
                return true;
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            pause = pauseUpTo(pause);
        }
    }

    /** Sleeps {@code pause} nanoseconds and returns the next pause, twice as long, up to {@link #LAST_PAUSE_NANOS}. */
    private static long pauseUpTo(long pause) throws IOException {
        try {
            Thread.sleep(Duration.ofNanos(pause));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return Math.min(pause * 2, LAST_PAUSE_NANOS);
    }

    private static long number(Path file) throws IOException {
        return Long.parseLong(Files.readString(file, StandardCharsets.US_ASCII).trim());
    }

    /** The value of {@code key} in a flat-keyed file ({@code usage_usec 123}). */
    private static long keyed(Path file, String key) throws IOException {
        for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
            int space = line.indexOf(' ');
            if (space > 0 && line.substring(0, space).equals(key)) {
                return Long.parseLong(line.substring(space + 1).trim());
            }
        }
        return BoxCost.UNKNOWN;
    }

    static String reason(IOException e) {
        if (e instanceof ErrnoException errno) {
            return errno.reason() + " (" + errno.name() + ")";
        }
        String message = e.getMessage();
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return message == null ? e.getClass().getSimpleName() : message;
    }
}
