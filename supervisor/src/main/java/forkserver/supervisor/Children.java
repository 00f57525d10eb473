package forkserver.supervisor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The running children: each is registered when spawned, reaped (by the JDK's process reaper,
 * whose {@link Process#onExit()} tells us) and logged when it ends, and stopped on shutdown.
 */
final class Children {

    private record Child(Process process, long startedNanos) {
    }

    private final Map<Long, Child> running = new ConcurrentHashMap<>();
    // Notified whenever a child leaves the registry; stopAll waits on it for the last one.
    private final Object exits = new Object();
    private final Admission admission;
    private final EventLog log;

    Children(Admission admission, EventLog log) {
        this.admission = admission;
        this.log = log;
    }

    /** Registers a child just spawned for {@code connection}; its slot is released at exit. */
    void started(Process process, Accepted connection) {
        Child child = new Child(process, System.nanoTime());
        running.put(process.pid(), child);
        log.start(process.pid(), HostPort.format(connection.remote()), HostPort.format(connection.local()),
                running.size(), admission.limit());
        process.onExit().whenComplete((exited, failure) -> ended(child));
    }

    private void ended(Child child) {
        synchronized (exits) {
            running.remove(child.process().pid());
            exits.notifyAll();
        }
        admission.release();
        log.end(child.process().pid(), child.process().exitValue(),
                Duration.ofNanos(System.nanoTime() - child.startedNanos()), running.size(), admission.limit());
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
            // Snapshot first: once the child is gone its descendants are no longer its.
            List<ProcessHandle> family = new ArrayList<>(child.process().descendants().toList());
            family.add(child.process().toHandle());
            for (ProcessHandle member : family) {
                if (force) {
                    member.destroyForcibly();
                } else {
                    member.destroy();
                }
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
