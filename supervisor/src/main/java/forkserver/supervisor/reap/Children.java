package forkserver.supervisor.reap;

import forkserver.supervisor.spawn.ChildProcess;
import forkserver.supervisor.spawn.ProcessTable;
import forkserver.supervisor.spawn.Reaper;
import forkserver.supervisor.base.Monitors;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.admit.SourceLimits;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.HostPort;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.log.LogLine;
import forkserver.supervisor.log.Totals;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The running children: each is registered when it gets its connection, logged and let go when
 * the {@link Reaper} says it exited, stopped when it outlives {@code --max-lifetime}, and
 * stopped on shutdown.
 *
 * <p>Two orders matter. A child's {@code end} line is written before it leaves the registry, so
 * that the drain, which waits for an empty registry, can never log {@code stopped} (and let the
 * JVM exit) before the last {@code end}. And the registry holds the child records themselves,
 * not their pids: a pid freed by one exit may be a new child's before the old one's record is
 * gone.
 */
public final class Children {

    private static final class Child {
        final ChildProcess process;
        final long startedNanos;
        final String remote;
        final String local;
        final String proxy; // --proxy-protocol: the proxy that relayed it; null without
        final Admission.Ticket ticket;
        volatile String stopReason; // why the supervisor signalled it; null while it runs on its own
        volatile ScheduledFuture<?> lifetime; // the --max-lifetime deadline, cancelled at exit

        Child(ChildProcess process, Accepted connection, Admission.Ticket ticket) {
            this.process = process;
            this.startedNanos = System.nanoTime();
            this.remote = HostPort.format(connection.remote());
            this.local = HostPort.format(connection.local());
            this.proxy = connection.proxy() == null ? null : HostPort.format(connection.proxy());
            this.ticket = ticket;
        }
    }

    /** The stages of {@link #stopAll} that {@link #hurry()} can cut short, in order. */
    private static final int GRACE = 0;
    private static final int KILL_GRACE = 1;
    private static final int NO_SKIPPING = Integer.MAX_VALUE;

    private final Set<Child> running = ConcurrentHashMap.newKeySet();
    // Notified whenever a child leaves the registry, and by hurry(); stopAll waits on it.
    private final Object exits = new Object();
    private int hurried; // how many stages of stopAll to skip; guarded by exits
    private final Admission admission;
    private final Totals totals;
    private final EventLog log;
    private final Duration maxLifetime; // null: no limit
    private final Duration killGrace;
    // Fires the --max-lifetime and kill-grace deadlines; one daemon thread, idle without them.
    private final ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1,
            Thread.ofPlatform().daemon().name("forkserver-lifetime").factory());

    public Children(Admission admission, Totals totals, EventLog log, Duration maxLifetime, Duration killGrace) {
        this.admission = admission;
        this.totals = totals;
        this.log = log;
        this.maxLifetime = maxLifetime;
        this.killGrace = killGrace;
        // A cancelled deadline leaves the queue at once: it holds its child, and with a long
        // --max-lifetime and many short connections the queue would otherwise grow.
        timers.setRemoveOnCancelPolicy(true);
    }

    /**
     * Registers a child that now holds {@code connection}: spawned for it, or the spare just
     * handed it ({@code via}: "spare" or "spawn" with --spares, else null). Its ticket is
     * released at exit.
     */
    public void started(ChildProcess process, Accepted connection, Admission.Ticket ticket, String via) {
        Child child = new Child(process, connection, ticket);
        totals.started(child.startedNanos - connection.acceptedNanos());
        running.add(child);
        LogLine.Count perSource = admission.perSourceLimit() == SourceLimits.UNLIMITED ? null
                : new LogLine.Count(ticket.openFromSource() + 1, admission.perSourceLimit());
        log.start(process.pid(), child.remote, child.local, child.proxy,
                new LogLine.Count(admission.running(), admission.limit()), perSource, via);
        if (maxLifetime != null) {
            child.lifetime = timers.schedule(() -> outlived(child), maxLifetime.toNanos(), TimeUnit.NANOSECONDS);
        }
        // Runs on the reaper's thread (or here, if it has exited already).
        process.exit().whenComplete((exitValue, failure) -> ended(child, exitValue));
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

    private void ended(Child child, int exitValue) {
        try {
            ScheduledFuture<?> lifetime = child.lifetime;
            if (lifetime != null) {
                lifetime.cancel(false);
            }
            admission.release(child.ticket);
            totals.exited(exitValue);
            Duration duration = Duration.ofNanos(System.nanoTime() - child.startedNanos);
            totals.session(duration);
            log.end(child.process.pid(), exitValue, duration,
                    child.remote, child.local, child.proxy, new LogLine.Count(admission.running(), admission.limit()),
                    child.stopReason);
        } finally {
            // Only now: once the registry is empty the drain may log "stopped" and exit.
            synchronized (exits) {
                running.remove(child);
                exits.notifyAll();
            }
        }
    }

    public int count() {
        return running.size();
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
        log.terminating("TERM", running.size());
        signalAll(false);
        if (awaitNone(killGrace, KILL_GRACE)) {
            return 0;
        }
        log.terminating("KILL", running.size());
        signalAll(true);
        awaitNone(killGrace, NO_SKIPPING);
        return running.size();
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
        List<Child> all = List.copyOf(running);
        for (Child child : all) {
            if (child.stopReason == null) {
                child.stopReason = "shutdown";
            }
        }
        signal(all, force, ProcessTable.read());
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
        Monitors.await(exits, () -> running.isEmpty() || hurried > stage, timeout);
        return running.isEmpty();
    }
}
