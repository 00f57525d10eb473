package forkserver.supervisor.reap;

import forkserver.posix.ErrnoException;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.admit.SourceLimits;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.Failures;
import forkserver.supervisor.base.Failures.SpawnFailed;
import forkserver.supervisor.base.Monitors;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.log.LogLine;
import forkserver.supervisor.log.Totals;
import forkserver.supervisor.spawn.ChildProcess;
import forkserver.supervisor.spawn.ChildUsers;
import forkserver.supervisor.spawn.ProcessTable;
import forkserver.supervisor.spawn.Reaper;
import forkserver.supervisor.spawn.Spawner;
import forkserver.supervisor.box.Box;
import forkserver.supervisor.box.BoxCost;
import forkserver.supervisor.box.Boxes;
import forkserver.supervisor.box.ChildRlimit;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
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
 * after the process is gone. There are two: its {@link Box} (a cgroup per connection, when
 * {@link Boxes} were given), made before the start, the process placed in it right after,
 * and at exit stopped (what the child left behind), its cost read and removed, off the
 * reaper's thread (a stop may wait out the kill grace), before the {@code end} line and before
 * the connection's ticket is given back: {@code -c} and the drain count whole boxes. And its uid
 * ({@link ChildUsers}, with {@code --child-user-range}), taken before the start and given back
 * after the box is removed: only then is no process of its left.
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
        final Box box; // its cgroup, or null when connections are not boxed
        final int uid; // its own uid (and gid), or Spawner.NO_USER
        volatile boolean emptied; // its box was removed: nothing it started runs any more
        volatile BoxCost baseline; // a spare's cost when it took its connection (its warm-up), or null
        volatile Finished finished; // its box's last figures, once stopped; before exitHandled

        Child(ChildProcess process, SpareExit spareExit, Box box, int uid) {
            this.process = process;
            this.spareExit = spareExit;
            this.box = box;
            this.uid = uid;
        }
    }

    /** A box at its end: what it cost (null when it could not be read) and how many it stopped. */
    record Finished(BoxCost cost, int leftovers) {
    }

    /**
     * How many boxes may be finished at once: each may wait out the kill grace for a stubborn
     * leftover, and a burst of exits should not wait behind one of those.
     */
    static final int FINISHING_THREADS = 4;

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
    private final Boxes boxes; // null: connections are not boxed
    private final List<ChildRlimit> rlimits;
    private final ChildUsers users; // null: children run as the supervisor's user
    // Finishes boxes (stop, cost, remove) off the reaper's thread; idle threads end after a while.
    private final ThreadPoolExecutor finishing = new ThreadPoolExecutor(FINISHING_THREADS, FINISHING_THREADS,
            10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
            Thread.ofPlatform().daemon().name("forkserver-boxes").factory());
    // Fires the --max-lifetime and kill-grace deadlines; one daemon thread, idle without them.
    private final ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1,
            Thread.ofPlatform().daemon().name("forkserver-lifetime").factory());

    public Children(Spawner spawner, Admission admission, Totals totals, EventLog log, Duration maxLifetime,
                    Duration killGrace) throws ErrnoException {
        this(spawner, admission, totals, log, maxLifetime, killGrace, null, List.of(), null);
    }

    /**
     * A registry that boxes each child with {@code boxes} (null: none), sets {@code rlimits}
     * on it and runs it as a uid of its own from {@code users} (null: as the supervisor's); it
     * owns {@code boxes} from now on ({@link #close}).
     */
    public Children(Spawner spawner, Admission admission, Totals totals, EventLog log, Duration maxLifetime,
                    Duration killGrace, Boxes boxes, List<ChildRlimit> rlimits, ChildUsers users) throws ErrnoException {
        this.boxes = boxes;
        this.users = users;
        this.rlimits = List.copyOf(rlimits);
        finishing.allowCoreThreadTimeOut(true);
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
        Box box = newBox();
        ChildProcess process;
        int uid = Spawner.NO_USER;
        try {
            uid = newUid();
            process = spawner.spawn(connection, withBox(variables, box), uid);
        } catch (SpawnFailed | RuntimeException | Error e) {
            closeBox(box);
            releaseUid(uid, true); // nothing ran as it: a failed start leaves no process
            throw e;
        }
        Child child = new Child(process, null, box, uid);
        contain(child);
        serve(child, connection, ticket, via, false);
        watch(child);
        return process;
    }

    /** A new box for a child about to start, or null when connections are not boxed. */
    private Box newBox() throws SpawnFailed {
        if (boxes == null) {
            return null;
        }
        try {
            return boxes.create();
        } catch (IOException e) {
            // No box, no child: a connection is never served outside the limits it was promised.
            throw new SpawnFailed("box", "cannot make the connection's box: " + e.getMessage());
        }
    }

    /** A uid of its own for a child about to start, or {@link Spawner#NO_USER} without a range. */
    private int newUid() throws SpawnFailed {
        return users == null ? Spawner.NO_USER : users.take();
    }

    private void releaseUid(int uid, boolean emptied) {
        if (uid != Spawner.NO_USER) {
            users.release(uid, emptied);
        }
    }

    /** The child's variables, with what a self-placing child needs to join {@code box}. */
    private static Map<String, String> withBox(Map<String, String> variables, Box box) {
        if (box == null) {
            return variables;
        }
        Map<String, String> all = new HashMap<>(variables);
        all.putAll(box.environment());
        return all;
    }

    /**
     * Puts a just-started child into its box and sets its rlimits. A child that cannot be held to
     * them is killed (still registered, so that it is reaped and its box removed) and its start
     * fails: it never serves outside its limits. A child that exited already needs neither.
     *
     * <p>A child given its box's variables has joined it before its command ran (the /bin/sh step
     * of {@link Box#selfPlacing}, behind which the supervisor starts every boxed command; it refuses
     * to run the command unboxed): it is not moved
     * again, which would cost a write per hierarchy and descriptors the supervisor may lack.
     */
    private void contain(Child child) throws SpawnFailed {
        long pid = child.process.pid();
        String step = "place";
        try {
            if (child.box != null && child.box.environment().isEmpty() && !child.box.place(pid)) {
                return; // exited already (ESRCH): what it started before is outside, but it serves no one
            }
            step = "rlimit";
            ChildRlimit.apply(pid, rlimits);
        } catch (ErrnoException e) {
            if (e.name().equals("ESRCH")) {
                return;
            }
            refuseContainment(child, step, e);
        } catch (IOException e) {
            refuseContainment(child, step, e);
        }
    }

    private void refuseContainment(Child child, String step, IOException e) throws SpawnFailed {
        child.process.signal(true);
        // Registered only to be reaped and its box removed: as neither a connection's child nor a
        // spare (whose pool was never given it), its exit is no one else's.
        watch(new Child(child.process, null, child.box, child.uid));
        throw new SpawnFailed("box", "cannot " + (step.equals("place") ? "place the child in its box" : "set its rlimits")
                + ": " + e.getMessage());
    }

    private static void closeBox(Box box) {
        if (box != null) {
            box.close();
        }
    }

    /**
     * Starts a spare and registers it: until it takes a connection ({@link #started}), its
     * exit goes to {@code onExit}.
     */
    public Spawner.SpareStart startSpare(SpareExit onExit) throws SpawnFailed {
        // As in spawn(): a spare's box is made before its start (memory charges do not move
        // with a process), and is its connection's once it takes one. Until then its JVM's start
        // and warm-up are background work: the box's CPU weight is low from the spare's first
        // instruction, so that on a busy CPU they yield to the connections being served
        // (foreground() raises it before the spare is handed its connection).
        Box box = newBox();
        Spawner.SpareStart spare;
        int uid = Spawner.NO_USER;
        try {
            weigh(box, Box.Weight.BACKGROUND);
            uid = newUid();
            spare = spawner.spawnSpare(withBox(Map.of(), box), uid);
        } catch (SpawnFailed | RuntimeException | Error e) {
            closeBox(box);
            releaseUid(uid, true);
            throw e;
        }
        Child child = new Child(spare.process(), onExit, box, uid);
        try {
            contain(child);
        } catch (SpawnFailed e) {
            Failures.closeOwn(spare.channel(), "a spare's channel");
            throw e;
        }
        watch(child);
        return spare;
    }

    /**
     * Gives the spare {@code process} the CPU weight of a connection's child, before it is handed
     * its connection (a handshake's crypto must not wait behind the spares warming up beside it);
     * false when that could not be written: the spare must not serve then.
     */
    public boolean foreground(ChildProcess process) {
        Child child = all.get(process);
        try {
            weigh(child == null ? null : child.box, Box.Weight.FOREGROUND);
            return true;
        } catch (SpawnFailed e) {
            return false; // the registry still owns the box: it goes with the spare's exit
        }
    }

    private static void weigh(Box box, Box.Weight weight) throws SpawnFailed {
        if (box == null) {
            return;
        }
        try {
            box.weigh(weight);
        } catch (IOException e) {
            throw new SpawnFailed("box", "cannot set the box's CPU weight: " + e.getMessage());
        }
    }

    /** Registers a spare started elsewhere (tests): as {@link #startSpare}. */
    public void spare(ChildProcess process, SpareExit onExit) {
        watch(new Child(process, onExit, null, Spawner.NO_USER));
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
            child = new Child(process, null, null, Spawner.NO_USER);
            serve(child, connection, ticket, via, false);
            watch(child);
        } else if (child == null) {
            // Not registered but exited: a spare whose exit was handled before it was ours to end.
            serve(new Child(process, null, null, Spawner.NO_USER), connection, ticket, via, true);
        } else {
            // A spare's warm-up (its JVM's start, its class loading) is not its connection's cost.
            child.baseline = costNow(child);
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
        if (spawner != null) {
            spawner.exited(process);
        }
        if (child.box == null) {
            settle(child, exitValue);
            return;
        }
        // A box is finished first: its leftovers stopped (which may wait out the kill grace: not
        // on this thread, which every other exit waits on), its cost read, then it is removed.
        try {
            finishing.execute(() -> {
                finishBox(child);
                settle(child, exitValue);
            });
        } catch (RejectedExecutionException e) {
            finishBox(child); // closed: the drain is waiting for this very exit
            settle(child, exitValue);
        } catch (OutOfMemoryError e) {
            if (!Failures.isNoThread(e)) {
                throw e;
            }
            finishBox(child); // no thread for it (a task limit): here, late rather than never
            settle(child, exitValue);
        }
    }

    /**
     * Stops what the child left in its box, reads what the box cost and removes it; what cannot
     * be done is logged, and the box stays known to {@link Boxes}, which tries again at close.
     */
    private void finishBox(Child child) {
        Box box = child.box;
        long pid = child.process.pid();
        int leftovers = 0;
        try {
            leftovers = box.stop(killGrace);
        } catch (IOException e) {
            log.boxFailed(pid, "stop", e.getMessage());
        }
        BoxCost cost = null;
        try {
            cost = box.cost();
            BoxCost baseline = child.baseline;
            if (baseline != null) {
                cost = cost.since(baseline);
            }
        } catch (IOException e) {
            log.boxFailed(pid, "cost", e.getMessage());
        }
        try {
            box.remove();
            child.emptied = true;
        } catch (IOException e) {
            log.boxFailed(pid, "remove", e.getMessage());
            box.close();
        }
        child.finished = new Finished(cost, leftovers);
    }

    /** The box's cost now, or null when it cannot be read (the figures then include the warm-up). */
    private static BoxCost costNow(Child child) {
        if (child.box == null) {
            return null;
        }
        try {
            return child.box.cost();
        } catch (IOException e) {
            return null;
        }
    }

    /** After the box, if any, is finished: what the exit means, then the child leaves the registry. */
    private void settle(Child child, int exitValue) {
        Serving serving;
        synchronized (child) {
            child.exitHandled = true;
            serving = child.serving;
        }
        try {
            if (serving != null) {
                end(child, exitValue);
            } else if (child.spareExit != null) {
                child.spareExit.exited(child.process, exitValue);
            }
        } finally {
            // Its uid free again: at once when its box is gone; else once no process runs as it.
            releaseUid(child.uid, child.emptied);
            // Only now: once the registry is empty the drain may log "stopped" and exit.
            synchronized (exits) {
                all.remove(child.process);
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
        EventLog.Cost cost = cost(child.finished);
        totals.exited(exitValue, cost != null && cost.oomKilled());
        Duration duration = Duration.ofNanos(System.nanoTime() - serving.startedNanos());
        totals.session(duration);
        log.end(child.process.pid(), exitValue, duration, cost, serving.remote(), serving.local(), serving.proxy(),
                new LogLine.Count(admission.running(), admission.limit()), child.stopReason);
    }

    /** A finished box's figures for the end line and the totals; null for a child without a box. */
    private EventLog.Cost cost(Finished finished) {
        if (finished == null) {
            return null;
        }
        BoxCost cost = finished.cost();
        long cpuMicros = cost == null ? BoxCost.UNKNOWN : cost.cpuMicros();
        long peak = cost == null ? BoxCost.UNKNOWN : cost.memoryPeakBytes();
        totals.cost(cpuMicros, peak, finished.leftovers());
        return new EventLog.Cost(cpuMicros < 0 ? null : Duration.ofNanos(cpuMicros * 1000), peak,
                cost != null && cost.oomKilled(), finished.leftovers());
    }

    /** Whether connections are boxed: their end lines carry their cost. */
    public boolean boxed() {
        return boxes != null;
    }

    /**
     * After {@link #stopAll}: waits (bounded) for the boxes being finished, then removes every box
     * still there. Throws naming what could not be removed.
     */
    public void close() throws IOException {
        finishing.shutdown();
        try {
            finishing.awaitTermination(killGrace.toNanos() + Duration.ofSeconds(10).toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (boxes != null) {
            boxes.close();
        }
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
