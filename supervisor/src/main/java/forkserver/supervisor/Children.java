package forkserver.supervisor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The running children: each is registered when spawned, reaped (by the JDK's process reaper,
 * whose {@link Process#onExit()} tells us) and logged when it ends, stopped when it outlives
 * {@code --max-lifetime}, and stopped on shutdown.
 */
final class Children {

    private static final class Child {
        final Process process;
        final long startedNanos;
        final String remote;
        final String local;
        final String proxy; // --proxy-protocol: the proxy that relayed it; null without
        final Admission.Ticket ticket;
        volatile String stopReason; // why the supervisor signalled it; null while it runs on its own
        volatile ScheduledFuture<?> lifetime; // the --max-lifetime deadline, cancelled at exit

        Child(Process process, Accepted connection, Admission.Ticket ticket) {
            this.process = process;
            this.startedNanos = System.nanoTime();
            this.remote = HostPort.format(connection.remote());
            this.local = HostPort.format(connection.local());
            this.proxy = connection.proxy() == null ? null : HostPort.format(connection.proxy());
            this.ticket = ticket;
        }
    }

    private final Map<Long, Child> running = new ConcurrentHashMap<>();
    // Notified whenever a child leaves the registry; stopAll waits on it for the last one.
    private final Object exits = new Object();
    private final Admission admission;
    private final Totals totals;
    private final EventLog log;
    private final Duration maxLifetime; // null: no limit
    private final Duration killGrace;
    // Fires the --max-lifetime and kill-grace deadlines; one daemon thread, idle without them.
    private final ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1,
            Thread.ofPlatform().daemon().name("forkserver-lifetime").factory());

    Children(Admission admission, Totals totals, EventLog log, Duration maxLifetime, Duration killGrace) {
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
     * Registers a child just spawned for {@code connection}, or the spare just handed it
     * ({@code via}: "spare" or "spawn" with --spares, else null); its ticket is released at exit.
     */
    void started(Process process, Accepted connection, Admission.Ticket ticket, String via) {
        Child child = new Child(process, connection, ticket);
        running.put(process.pid(), child);
        LogLine.Count perSource = admission.perSourceLimit() == SourceLimits.UNLIMITED ? null
                : new LogLine.Count(ticket.openFromSource() + 1, admission.perSourceLimit());
        log.start(process.pid(), child.remote, child.local, child.proxy,
                new LogLine.Count(running.size(), admission.limit()), perSource, via);
        if (maxLifetime != null) {
            child.lifetime = timers.schedule(() -> outlived(child), maxLifetime.toNanos(), TimeUnit.NANOSECONDS);
        }
        process.onExit().whenComplete((exited, failure) -> ended(child));
    }

    /** {@code --max-lifetime} passed: SIGTERM now, SIGKILL after the kill grace if still there. */
    private void outlived(Child child) {
        if (!child.process.isAlive() || child.stopReason != null) {
            return;
        }
        child.stopReason = "max-lifetime";
        log.terminate(child.process.pid(), "TERM", child.stopReason);
        signal(child, false);
        timers.schedule(() -> {
            if (child.process.isAlive()) {
                log.terminate(child.process.pid(), "KILL", child.stopReason);
                signal(child, true);
            }
        }, killGrace.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void ended(Child child) {
        ScheduledFuture<?> lifetime = child.lifetime;
        if (lifetime != null) {
            lifetime.cancel(false);
        }
        synchronized (exits) {
            running.remove(child.process.pid());
            exits.notifyAll();
        }
        admission.release(child.ticket);
        int exitValue = child.process.exitValue();
        totals.exited(exitValue);
        log.end(child.process.pid(), exitValue, Duration.ofNanos(System.nanoTime() - child.startedNanos),
                child.remote, child.local, child.proxy, new LogLine.Count(running.size(), admission.limit()),
                child.stopReason);
    }

    int count() {
        return running.size();
    }

    /**
     * Stops every child: waits up to {@code grace} for them to finish on their own, then sends
     * SIGTERM and waits up to {@code killGrace}, then SIGKILL. Descendants a child started are
     * signalled with it. Returns how many processes could not be stopped (0 but for a kernel in
     * trouble).
     */
    int stopAll(Duration grace, Duration killGrace) {
        if (awaitNone(grace)) {
            return 0;
        }
        log.terminating("TERM", running.size());
        signalAll(false);
        if (awaitNone(killGrace)) {
            return 0;
        }
        log.terminating("KILL", running.size());
        signalAll(true);
        awaitNone(killGrace);
        return running.size();
    }

    private void signalAll(boolean force) {
        for (Child child : List.copyOf(running.values())) {
            if (child.stopReason == null) {
                child.stopReason = "shutdown";
            }
            signal(child, force);
        }
    }

    /** SIGTERM ({@code force}: SIGKILL) to a child and every process it started. */
    private static void signal(Child child, boolean force) {
        // Snapshot first: once the child is gone its descendants are no longer its.
        List<ProcessHandle> family = new ArrayList<>(child.process.descendants().toList());
        family.add(child.process.toHandle());
        for (ProcessHandle member : family) {
            if (force) {
                member.destroyForcibly();
            } else {
                member.destroy();
            }
        }
    }

    /** Waits until no child runs, at most {@code timeout}; true when none does. */
    private boolean awaitNone(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (exits) {
            while (!running.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(exits, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return running.isEmpty();
                }
            }
            return true;
        }
    }
}
