package forkserver.supervisor.log;

import forkserver.supervisor.base.ExitStatus;
import forkserver.supervisor.base.RateLimit;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * The supervisor's log: one line an event, on stderr, fixed and grep-able, in the spirit of
 * tcpserver ({@code forkserver: start pid=123 remote=127.0.0.1:4711 ...}), or one JSON object a
 * line with the same fields ({@code --log-format json}); {@link LogLine} writes both.
 *
 * <p>Never stdout: in {@code --stdio inout} mode fd 1 briefly is a client's socket while a child
 * is spawned, and nothing the supervisor writes may reach a client.
 */
public final class EventLog {

    /** {@code --log-format}. */
    public enum Format { TEXT, JSON }

    /** {@code --log-timestamps}: UTC, to the millisecond, the same width on every line. */
    private static final java.time.format.DateTimeFormatter TIME =
            java.time.format.DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSX").withZone(java.time.ZoneOffset.UTC);

    /**
     * Reject lines (every refusal, {@code denied} among them) come in a burst of at most this
     * many, then {@link #REJECT_BURST} more per {@link #REJECT_REFILL}: a client refused in a
     * loop (12,000 times in 3 s, seen) must not flood the journal. Past that they are counted by
     * reason and said in one {@code reject-dropped} line before the next reject line that is
     * written, and at the drain; the status line and the metrics count every one.
     */
    static final int REJECT_BURST = 100;
    static final Duration REJECT_REFILL = Duration.ofSeconds(10);

    private final PrintStream out;
    private final Format format;
    private final boolean timestamps;
    private final RateLimit rejectLines; // guarded by this
    private final Map<String, Long> rejectsDropped = new TreeMap<>(); // by reason; guarded by this

    public EventLog(PrintStream out, Format format) {
        this(out, format, false);
    }

    /** {@code timestamps}: each line gets a {@code time} field first (a log written to a file). */
    public EventLog(PrintStream out, Format format, boolean timestamps) {
        this(out, format, timestamps, System::nanoTime);
    }

    EventLog(PrintStream out, Format format, boolean timestamps, LongSupplier nanoClock) {
        this.out = out;
        this.format = format;
        this.timestamps = timestamps;
        this.rejectLines = new RateLimit(new RateLimit.Spec(REJECT_BURST, REJECT_REFILL), nanoClock);
    }

    /** One line per listener; {@code name} (its children's FORKSERVER_LISTENER) is shown when it is not the address. */
    public void listening(String how, String address, String name, int maxChildren, String command) {
        LogLine line = new LogLine("listening").textHead("listening on " + address + " (" + how + ")")
                .jsonOnly("address", address).jsonOnly("how", how);
        if (name != null && !name.equals(address)) {
            line.with("name", name);
        }
        emit(line.with("max-children", maxChildren).with("command", command));
    }

    /**
     * A child started; {@code perSource} is null without {@code --max-per-source}; {@code via}
     * (with {@code --spares} only, else null) says whether a spare took the connection or a
     * process was spawned for it; {@code proxy} (null without a PROXY header) is the proxy that
     * relayed it, {@code remote} and {@code local} then being what its header said.
     */
    public void start(long pid, String remote, String local, String proxy, LogLine.Count children, LogLine.Count perSource,
               String via) {
        LogLine line = proxied(new LogLine("start").with("pid", pid).with("remote", remote).with("local", local), proxy)
                .with("children", children);
        if (perSource != null) {
            line.with("per-source", perSource);
        }
        if (via != null) {
            line.with("via", via);
        }
        emit(line);
    }

    /** A spare worker is warm and waits for a connection; {@code spares}: how many are ready now. */
    public void spareReady(long pid, Duration startup, LogLine.Count spares) {
        emit(new LogLine("spare-ready").with("pid", pid).with("startup", startup).with("spares", spares));
    }

    /**
     * A spare ended before it had a connection ({@code was}: starting or ready); it is replaced.
     * {@code exitValue} is null when it would not even die.
     */
    public void spareExit(long pid, int exitValue, String was, Duration age, LogLine.Count spares) {
        emit(exit(new LogLine("spare-exit").with("pid", pid), exitValue)
                .with("was", was).with("age", age).with("spares", spares));
    }

    /** No spare could be started (no descriptors, the command cannot run); retried later. */
    public void spareFailed(String reason, String detail) {
        emit(new LogLine("spare-failed").with("reason", reason).with("detail", detail));
    }

    /** A spare chosen for a connection did not take it; the connection goes to the next one or a new child. */
    public void handOffFailed(long pid, String remote, String reason) {
        emit(new LogLine("handoff-failed").with("pid", pid).with("remote", remote).with("reason", reason));
    }

    /** A child ended; {@code reason} is why the supervisor stopped it, or null if it ended by itself. */
    /**
     * What a boxed connection cost: CPU time (null when the host cannot say), memory peak in bytes
     * (-1 likewise), whether the OOM killer killed in its box, and how many processes its child
     * left behind (stopped with it).
     */
    public record Cost(Duration cpu, long memoryPeakBytes, boolean oomKilled, int leftovers) {
    }

    public void end(long pid, int exitValue, Duration duration, String remote, String local, String proxy,
             LogLine.Count children, String reason) {
        end(pid, exitValue, duration, null, remote, local, proxy, children, reason);
    }

    /** A connection's child ended; {@code cost} is null when it was not boxed. */
    public void end(long pid, int exitValue, Duration duration, Cost cost, String remote, String local, String proxy,
             LogLine.Count children, String reason) {
        LogLine line = exit(new LogLine("end").with("pid", pid), exitValue);
        if (cost != null && cost.oomKilled()) {
            line.with("oom-kill", 1);
        }
        line.with("duration", duration);
        if (cost != null) {
            if (cost.cpu() != null) {
                line.with("cpu", cost.cpu());
            }
            if (cost.memoryPeakBytes() >= 0) {
                line.with("memory-peak", new LogLine.Bytes(cost.memoryPeakBytes()));
            }
            if (cost.leftovers() > 0) {
                line.with("leftovers", cost.leftovers());
            }
        }
        proxied(line.with("remote", remote).with("local", local), proxy).with("children", children);
        if (reason != null) {
            line.with("reason", reason);
        }
        emit(line);
    }

    /** At start-up: whether and how connections are boxed ({@code description}: one line). */
    public void boxes(boolean boxed, String description) {
        emit(new LogLine("boxes").textHead(description).jsonOnly("boxed", boxed ? "yes" : "no")
                .jsonOnly("description", description));
    }

    /** At start-up: what a user should know about a {@code --child-rlimit} ({@code limit}). */
    public void rlimitWarning(String limit, String warning) {
        emit(new LogLine("rlimit-warning").with("limit", limit).with("detail", warning));
    }

    /**
     * A connection's box could not be finished as it should ({@code what}: stop, remove, place):
     * processes or a cgroup may be left; {@code detail} names them. The supervisor retries at stop.
     */
    public void boxFailed(long pid, String what, String detail) {
        emit(new LogLine("box-failed").with("pid", pid).with("what", what).with("detail", detail));
    }

    /** How a child ended, as {@code end} and {@code spare-exit} say it: {@code signal=KILL} or {@code status=N}. */
    private static LogLine exit(LogLine line, int exitValue) {
        String signal = ExitStatus.signal(exitValue);
        return signal != null ? line.with("signal", signal) : line.with("status", exitValue);
    }

    /**
     * A connection turned away; {@code proxy} as for {@link #start}; {@code detail} (null but for
     * {@code proxy-header} and {@code proxy-timeout}) says what was wrong with the header.
     */
    public void reject(String remote, String local, String proxy, String reason, String detail, LogLine.Count children) {
        synchronized (this) {
            if (!rejectLines.tryTake()) {
                rejectsDropped.merge(reason, 1L, Long::sum);
                return;
            }
            sayRejectsDropped();
            LogLine line = proxied(new LogLine("reject").with("remote", remote).with("local", local), proxy)
                    .with("reason", reason);
            if (detail != null) {
                line.with("detail", detail);
            }
            emit(line.with("children", children));
        }
    }

    /** {@code reject-dropped lines=12000 reasons=denied:12000}: the reject lines not written since the last one. */
    private void sayRejectsDropped() {
        if (rejectsDropped.isEmpty()) {
            return;
        }
        long lines = rejectsDropped.values().stream().mapToLong(Long::longValue).sum();
        emit(new LogLine("reject-dropped").with("lines", lines).with("reasons", new TreeMap<>(rejectsDropped)));
        rejectsDropped.clear();
    }

    /** {@code proxy=HOST:PORT} after the addresses, for a connection relayed by a proxy (--proxy-protocol). */
    private static LogLine proxied(LogLine line, String proxy) {
        return proxy == null ? line : line.with("proxy", proxy);
    }

    /** The acceptor pauses: new clients wait in the backlog; logged once per dry spell. */
    public void paused(String reason, long nanosUntilNext) {
        emit(new LogLine("paused").with("reason", reason).with("next-in", Duration.ofNanos(nanosUntilNext)));
    }

    /** A child is being stopped by the supervisor (SIGTERM, later SIGKILL) for {@code reason}. */
    public void terminate(long pid, String signal, String reason) {
        emit(new LogLine("terminate").with("pid", pid).with("signal", signal).with("reason", reason));
    }

    public void reloaded(String file, int rules) {
        emit(new LogLine("reloaded").with("file", file).with("rules", rules));
    }

    /** SIGHUP with nothing to re-read ({@code reason}: no-rules-file): the rules in force stay. */
    public void reloadSkipped(String reason) {
        emit(new LogLine("reload-skipped").with("reason", reason));
    }

    /**
     * A message to systemd ({@code message}: its first line) could not be sent to
     * {@code address}; said once per {@code reason} (EAGAIN, ENOENT, ECONNREFUSED), never fatal.
     */
    public void notifyFailed(String address, String message, String reason, String detail) {
        emit(new LogLine("notify-failed").with("socket", address).with("message", message).with("reason", reason)
                .with("detail", detail));
    }

    /** The metrics endpoint listens ({@code --metrics}). */
    public void metrics(String address) {
        emit(new LogLine("metrics").textHead("metrics on " + address).jsonOnly("address", address));
    }

    /**
     * One line a child ({@code pid}) wrote on its stderr; {@code cut} bytes of it were left out
     * (a line longer than the log takes), 0 for a whole line.
     */
    public void stderr(long pid, String line, long cut) {
        LogLine event = new LogLine("stderr").with("pid", pid).with("line", line);
        if (cut > 0) {
            event.with("cut", cut);
        }
        emit(event);
    }

    /**
     * No pipe could be made for a child's stderr ({@code reason}: EMFILE, ENFILE): children get
     * /dev/null as their stderr until one can; said once per such spell.
     */
    public void stderrLost(String reason, String detail) {
        emit(new LogLine("stderr-lost").with("reason", reason).with("detail", detail)
                .with("until", "descriptors are free again: children's stderr goes to /dev/null"));
    }

    /** A child wrote faster than the log takes: {@code lines} lines ({@code bytes} bytes) of its stderr were dropped. */
    public void stderrDropped(long pid, long lines, long bytes) {
        emit(new LogLine("stderr-dropped").with("pid", pid).with("lines", lines).with("bytes", bytes));
    }

    /** A reload failed; the rules in force stay. */
    public void reloadFailed(String reason) {
        emit(new LogLine("reload-failed").with("reason", reason).with("kept", "previous-rules"));
    }

    /**
     * SIGUSR1: where things stand, and totals since start; {@code spares} (ready now against
     * --spares) is null without --spares; {@code proxyHealthChecks} (answered since start) is
     * null without --proxy-protocol.
     */
    public void status(LogLine.Count children, LogLine.Count spares, Map<String, Integer> topSources, long accepted,
                Long proxyHealthChecks, Map<String, Long> rejected, Map<String, Long> exited) {
        status(children, spares, topSources, accepted, proxyHealthChecks, rejected, exited, null);
    }

    /**
     * As above, with the boxed connections' totals ({@code boxed}: null when connections are not
     * boxed): CPU time, OOM kills and leftovers stopped, since start.
     */
    public void status(LogLine.Count children, LogLine.Count spares, Map<String, Integer> topSources, long accepted,
                Long proxyHealthChecks, Map<String, Long> rejected, Map<String, Long> exited, BoxTotals boxed) {
        LogLine line = new LogLine("status").with("children", children);
        if (spares != null) {
            line.with("spares", spares);
        }
        line.with("top", topSources).with("accepted", accepted);
        if (proxyHealthChecks != null) {
            line.with("proxy-health-checks", proxyHealthChecks);
        }
        line.with("rejected", rejected).with("exited", exited);
        if (boxed != null) {
            line.with("cpu", boxed.cpu()).with("memory-peak-max", new LogLine.Bytes(boxed.memoryPeakMax()))
                    .with("oom-kills", boxed.oomKills()).with("leftovers", boxed.leftovers());
        }
        emit(line);
    }

    /** The status line's totals of boxed connections since start. */
    public record BoxTotals(Duration cpu, long memoryPeakMax, long oomKills, long leftovers) {
    }

    /**
     * No child could be started for a connection ({@code reason}: the errno's name, EAGAIN,
     * EMFILE, ...); it was closed, and nothing is accepted for {@code pause}.
     */
    public void spawnFailed(String remote, String local, String proxy, String reason, String detail, LogLine.Count children,
                     Duration pause) {
        emit(proxied(new LogLine("spawn-failed").with("remote", remote).with("local", local), proxy)
                .with("reason", reason).with("detail", detail).with("children", children).with("pause", pause));
    }

    /**
     * The child {@code pid} started, but the JDK could not start the thread that reaps it: the
     * task limit is reached. It serves its connection (the supervisor reaps it); nothing is
     * accepted for {@code pause}.
     */
    public void taskLimit(long pid, Duration pause) {
        emit(new LogLine("task-limit").with("pid", pid).with("reason", "EAGAIN")
                .with("detail", "no thread for the JDK's reaper; the supervisor reaps this child itself")
                .with("pause", pause));
    }

    /** A connection's handling failed in an unforeseen way; it was closed, the supervisor goes on. */
    public void connectionFailed(String remote, String reason, String detail) {
        emit(new LogLine("connection-failed").with("remote", remote).with("reason", reason).with("detail", detail));
    }

    /** accept(2) failed for want of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM); retried after {@code pause}. */
    public void acceptFailed(String reason, String detail, Duration pause) {
        emit(new LogLine("accept-failed").with("reason", reason).with("detail", detail).with("pause", pause));
    }

    /**
     * The supervisor cannot go on ({@code where}: the thread or step that failed); it drains
     * and exits with status 1, for its service manager to start a new one.
     */
    /** A side thread ended on a failure of its own; the supervisor goes on without what it served. */
    public void threadFailed(String where, String reason, String detail) {
        emit(new LogLine("thread-failed").with("where", where).with("reason", reason).with("detail", detail));
    }

    public void fatal(String where, String reason, String detail) {
        emit(new LogLine("fatal").with("where", where).with("reason", reason).with("detail", detail));
    }

    /**
     * SIGUSR2's upgrade is done: {@code successor} serves the listening sockets (it took
     * {@code took} from the signal to its readiness); this supervisor accepts no more and exits
     * once its own children have ended.
     */
    public void upgrade(long successor, Duration took, int children) {
        emit(new LogLine("upgrade").with("pid", successor).with("took", took).with("children", children));
    }

    /** The upgrade failed ({@code pid}: the successor, 0 when none started): this supervisor goes on serving. */
    public void upgradeFailed(long pid, String reason) {
        emit(new LogLine("upgrade-failed").with("pid", pid).with("reason", reason).with("kept", "serving"));
    }

    /** SIGUSR2 while an upgrade is under way, or while stopping: nothing done. */
    public void upgradeRefused(String reason) {
        emit(new LogLine("upgrade-refused").with("reason", reason));
    }

    /** A further SIGTERM or SIGINT while stopping: {@code skipped} (a grace) ends now. */
    public void hurry(String signal, String skipped) {
        emit(new LogLine("hurry").with("signal", signal).with("skipped", skipped));
    }

    /**
     * At start-up: {@code resource} ({@code tasks} or {@code descriptors}) allows {@code limit}
     * (from {@code source}: RLIMIT_NPROC, pids.max, RLIMIT_NOFILE; {@code file} where it was
     * read, or null), fewer than the {@code needed} of the configuration; {@code detail} says how
     * that is counted.
     */
    public void limitTooLow(String resource, String source, String file, long limit, long needed, String detail) {
        LogLine line = new LogLine("limit-too-low").with("resource", resource).with("source", source);
        if (file != null) {
            line.with("file", file);
        }
        emit(line.with("limit", limit).with("needed", needed).with("detail", detail));
    }

    /** The drain begins; {@code cause} is the signal (TERM, INT), or {@code fatal} after a {@link #fatal} line. */
    public void stopping(String cause, int children, Duration grace) {
        synchronized (this) {
            sayRejectsDropped();
        }
        LogLine line = new LogLine("stopping");
        line.with(cause.equals("fatal") || cause.equals("upgrade") || cause.equals("abandoned") ? "reason" : "signal", cause);
        line.with("children", children);
        // After an upgrade the children end when they will: no grace to announce.
        emit(grace == null ? line : line.with("grace", grace));
    }

    public void terminating(String signal, int children) {
        emit(new LogLine("terminating").with("signal", signal).with("children", children));
    }

    public void stopped(int leftBehind) {
        LogLine line = new LogLine("stopped");
        if (leftBehind > 0) {
            line.with("left-behind", leftBehind);
        }
        emit(line);
    }

    private void emit(LogLine line) {
        if (timestamps) {
            line.first("time", TIME.format(java.time.Instant.now()));
        }
        out.println(format == Format.JSON ? line.json() : line.text());
    }

    /** {@code 0.074s}: a duration as the log writes it, to the millisecond. */
    public static String seconds(Duration duration) {
        return LogLine.seconds(duration) + "s";
    }
}
