package forkserver.supervisor.reap;

import forkserver.posix.ErrnoException;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.admit.SourceLimits;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.Failures.SpawnFailed;
import forkserver.supervisor.base.Monitors;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.log.LogLine;
import forkserver.supervisor.log.Totals;
import forkserver.supervisor.spawn.ChildProcess;
import forkserver.supervisor.spawn.ProcessTable;
import forkserver.supervisor.spawn.Reaper;
import forkserver.supervisor.spawn.Spawner;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The registry of every process the supervisor starts, and the one owner of each one's life:
 * a {@link Child} is made here before its process starts (a connection's child, or a spare),
 * watched by this registry's {@link Reaper}, and its exit is handled in one place,
 * {@link #exited}: a connection's child is logged ({@code end}) and its ticket given back; a spare
 * that never took a connection is reported to its owner ({@link SpareExit}). Then it leaves the
 * registry. It is also the registry that stops children when they outlive
 * {@code --max-lifetime}, and stops them all on shutdown.
 *
 * <p>Where a per-connection resource lives, it lives on the {@link Child}: made in
 * {@link #spawn} or {@link #startSpare} before the process starts, given up in {@link #exited}
 * after the process is gone.
 *
 * <p>Two orders matter. A child's {@code end} line is written before it leaves the registry, so
 * that the drain, which waits for an empty registry, can never log {@code stopped} (and let the
 * JVM exit) before the last {@code end}. And the registry holds the child records themselves,
 * not their pids: a pid freed by one exit may be a new child's before the old one's record is
 * gone.
 */
public final class Children {

    /** Told when a spare that never took a connection ends; on the reaper's thread. */
    @FunctionalInterface
    public interface SpareExit {
        void exited(ChildProcess spare, int exitValue);
    }

    /**
     * One process the supervisor started, from before its start to its last log line. A spare
     * until it takes a connection ({@link #started}); a connection's child from then on.
     */
    static final class Child {
        final ChildProcess process;
        final SpareExit spareExit; // null for a child spawned for its connection
        volatile Serving serving; // null while it is a spare
        volatile String stopReason; // why the supervisor signalled it; null while it runs on its own
        volatile ScheduledFuture<?> lifetime; // the --max-lifetime deadline, cancelled at exit
        boolean exitHandled; // exited() has run: a connection it takes now ends at once; guarded by this

        Child(ChildProcess process, SpareExit spareExit) {
            this.process = process;
            this.spareExit = spareExit;
        }
    }

    /** A child's connection, as its log lines say it, and its ticket. */
    record Serving(long startedNanos, String remote, String local, String proxy, Admission.Ticket ticket) {
    }

    /** The stages of {@link #stopAll} that {@link #hurry()} can cut short, in order. */
    private static final int GRACE = 0;
    private static final int KILL_GRACE = 1;
    private static final int NO_SKIPPING = Integer.MAX_VALUE;

    // Every process started and not yet handled at exit, spares included; by their record.
    private final Map<ChildProcess, Child> all = new ConcurrentHashMap<>();
    // Notified whenever a child leaves the registry, and by hurry(); stopAll waits on it.
    private final Object exits = new Object();
    private int hurried; // how many stages of stopAll to skip; guarded by exits
    private final Spawner spawner; // null in tests that start their processes themselves
    private final Admission admission;
    private final Totals totals;
    private final EventLog log;
    private final Duration maxLifetime; // null: no limit
    private final Duration killGrace;
    private final Reaper reaper;
    // Fires the --max-lifetime and kill-grace deadlines; one daemon thread, idle without them.
    private final ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1,
            Thread.ofPlatform().daemon().name("forkserver-lifetime").factory());

    public Children(Spawner spawner, Admission admission, Totals totals, EventLog log, Duration maxLifetime,
                    Duration killGrace) throws ErrnoException {
        this.spawner = spawner;
        this.admission = admission;
        this.totals = totals;
        this.log = log;
        this.maxLifetime = maxLifetime;
        this.killGrace = killGrace;
        this.reaper = new Reaper(this::exited);
        // A cancelled deadline leaves the queue at once: it holds its child, and with a long
        // --max-lifetime and many short connections the queue would otherwise grow.
        timers.setRemoveOnCancelPolicy(true);
    }

    /**
     * Starts a child for {@code connection} with {@code variables} in its environment, and
     * registers it ({@code via}: as {@link #started}). The caller still owns the connection's
     * descriptor (the child has its own copy); the ticket is released at the child's exit.
     */
    public ChildProcess spawn(Accepted connection, Admission.Ticket ticket, Map<String, String> variables, String via)
            throws SpawnFailed {
        // What the child will own beyond its process (a box, a uid) is made here, before the
        // start, so that the process starts inside it; a failed start gives it back here.
        ChildProcess process = spawner.spawn(connection, variables);
        Child child = new Child(process, null);
        serve(child, connection, ticket, via, false);
        watch(child);
        return process;
    }

    /**
     * Starts a spare and registers it: until it takes a connection ({@link #started}), its
     * exit goes to {@code onExit}.
     */
    public Spawner.SpareStart startSpare(SpareExit onExit) throws SpawnFailed {
        // As in spawn(): a spare's box is made before its start (memory charges do not move
        // with a process), and is its connection's once it takes one.
        Spawner.SpareStart spare = spawner.spawnSpare();
        spare(spare.process(), onExit);
        return spare;
    }

    /** Registers a spare started elsewhere (tests): as {@link #startSpare}. */
    public void spare(ChildProcess process, SpareExit onExit) {
        watch(new Child(process, onExit));
    }

    /**
     * {@code process} now holds {@code connection}: a spare of this registry just handed it
     * ({@code via}: "spare"), or a process the caller started (tests). Its ticket is released at
     * exit.
     */
    public void started(ChildProcess process, Accepted connection, Admission.Ticket ticket, String via) {
        Child child = all.get(process);
        if (child == null && !process.hasExited()) {
            // Not registered and its exit not known: started elsewhere for this connection.
            child = new Child(process, null);
            serve(child, connection, ticket, via, false);
            watch(child);
        } else if (child == null) {
            // Not registered but exited: a spare whose exit was handled before it was ours to end.
            serve(new Child(process, null), connection, ticket, via, true);
        } else {
            serve(child, connection, ticket, via, false);
        }
    }

    /**
     * {@code child} serves {@code connection} from now on: its {@code start} line, and its
     * {@code end} at once when its exit was already handled ({@code ended}, or a spare that ended
     * as it took the connection).
     */
    private void serve(Child child, Accepted connection, Admission.Ticket ticket, String via, boolean ended) {
        ChildProcess process = child.process;
        long now = System.nanoTime();
        Serving serving = new Serving(now, connection.remoteText(), connection.localText(), connection.proxyText(), ticket);
        boolean endNow;
        synchronized (child) {
            child.serving = serving;
            endNow = ended || child.exitHandled;
        }
        totals.started(now - connection.acceptedNanos());
        LogLine.Count perSource = admission.perSourceLimit() == SourceLimits.UNLIMITED ? null
                : new LogLine.Count(ticket.openFromSource() + 1, admission.perSourceLimit());
        log.start(process.pid(), serving.remote(), serving.local(), serving.proxy(),
                new LogLine.Count(admission.running(), admission.limit()), perSource, via);
        if (endNow) {
            end(child, process.exit().join());
        } else if (maxLifetime != null) {
            child.lifetime = timers.schedule(() -> outlived(child), maxLifetime.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** From now on {@code child}'s exit comes to {@link #exited}; it is in the registry until then. */
    private void watch(Child child) {
        all.put(child.process, child);
        reaper.watch(child.process);
    }

    /** {@code --max-lifetime} passed: SIGTERM now, SIGKILL after the kill grace if still there. */
    private void outlived(Child child) {
        if (child.process.hasExited() || child.stopReason != null) {
            return;
        }
        child.stopReason = "max-lifetime";
        log.terminate(child.process.pid(), "TERM", child.stopReason);
        signal(List.of(child), false, ProcessTable.read());
        timers.schedule(() -> {
            if (!child.process.hasExited()) {
                log.terminate(child.process.pid(), "KILL", child.stopReason);
                signal(List.of(child), true, ProcessTable.read());
            }
        }, killGrace.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * The one place a process's exit is handled, on the reaper's thread: what it means for its
     * connection (the {@code end} line, the ticket back, the totals), or for the spare pool;
     * then it leaves the registry.
     */
    private void exited(ChildProcess process) {
        Child child = all.get(process);
        if (child == null) {
            return; // not ours (cannot be: only watch() gives the reaper a process)
        }
        int exitValue = process.exit().join();
        Serving serving;
        synchronized (child) {
            child.exitHandled = true;
            serving = child.serving;
        }
        try {
            if (spawner != null) {
                spawner.exited(process);
            }
            // A box is finished here, first: its cost read for the end line, its leftovers stopped.
            if (serving != null) {
                end(child, exitValue);
            } else if (child.spareExit != null) {
                child.spareExit.exited(process, exitValue);
            }
            // ... and removed here, once nothing of the child is left.
        } finally {
            // Only now: once the registry is empty the drain may log "stopped" and exit.
            synchronized (exits) {
                all.remove(process);
                exits.notifyAll();
            }
        }
    }

    private void end(Child child, int exitValue) {
        ScheduledFuture<?> lifetime = child.lifetime;
        if (lifetime != null) {
            lifetime.cancel(false);
        }
        Serving serving = child.serving;
        admission.release(serving.ticket());
        totals.exited(exitValue);
        Duration duration = Duration.ofNanos(System.nanoTime() - serving.startedNanos());
        totals.session(duration);
        log.end(child.process.pid(), exitValue, duration, serving.remote(), serving.local(), serving.proxy(),
                new LogLine.Count(admission.running(), admission.limit()), child.stopReason);
    }

    /** Connections' children running now (spares are not counted). */
    public int count() {
        return serving().size();
    }

    /** The connections' children in the registry now. */
    private List<Child> serving() {
        return all.values().stream().filter(child -> child.serving != null).toList();
    }

    /**
     * Stops every child: waits up to {@code grace} for them to finish on their own, then sends
     * SIGTERM and waits up to {@code killGrace}, then SIGKILL. Descendants a child started are
     * signalled with it. {@link #hurry()} ends the current wait early. Returns how many children
     * could not be stopped (0 but for a kernel in trouble).
     */
    public int stopAll(Duration grace, Duration killGrace) {
        if (awaitNone(grace, GRACE)) {
            return 0;
        }
        log.terminating("TERM", count());
        signalAll(false);
        if (awaitNone(killGrace, KILL_GRACE)) {
            return 0;
        }
        log.terminating("KILL", count());
        signalAll(true);
        awaitNone(killGrace, NO_SKIPPING);
        return count();
    }

    /**
     * A second SIGTERM or SIGINT while stopping: the wait {@link #stopAll} is in (or the next,
     * if it has not begun) ends now: the grace, then, at a third signal, the kill grace.
     * Returns the name of what it cut short.
     */
    public String hurry() {
        synchronized (exits) {
            hurried++;
            exits.notifyAll();
            return switch (hurried - 1) {
                case GRACE -> "shutdown-grace";
                case KILL_GRACE -> "kill-grace";
                default -> "nothing";
            };
        }
    }

    private void signalAll(boolean force) {
        List<Child> serving = serving();
        for (Child child : serving) {
            if (child.stopReason == null) {
                child.stopReason = "shutdown";
            }
        }
        signal(serving, force, ProcessTable.read());
    }

    /**
     * SIGTERM ({@code force}: SIGKILL) to each child and every process it started, as
     * {@code table} (one reading of /proc for all of them) shows them.
     */
    private static void signal(List<Child> children, boolean force, ProcessTable table) {
        for (Child child : children) {
            // The child first: a child that waits for what it started would otherwise see it die
            // and exit on its own before its own signal came, and its end would not say how it was
            // stopped. Its descendants are those of the snapshot, taken before any signal: once
            // the child is gone they are no longer its.
            child.process.signal(force);
            for (long descendant : table.descendantsOf(child.process.pid())) {
                // ProcessHandle checks the process's start time before it signals: a pid reused
                // since the snapshot is left alone.
                ProcessHandle.of(descendant).ifPresent(force ? ProcessHandle::destroyForcibly : ProcessHandle::destroy);
            }
        }
    }

    /** Waits until no child runs, at most {@code timeout} or until hurried past {@code stage}; true when none does. */
    private boolean awaitNone(Duration timeout, int stage) {
        Monitors.await(exits, () -> serving().isEmpty() || hurried > stage, timeout);
        return serving().isEmpty();
    }
}
