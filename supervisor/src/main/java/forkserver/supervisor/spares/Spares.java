package forkserver.supervisor.spares;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.posix.SpareProtocol;
import forkserver.supervisor.base.Failures.SpawnFailed;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.base.Backoff;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.log.LogLine;
import forkserver.supervisor.reap.Children;
import forkserver.supervisor.spawn.ChildProcess;
import forkserver.supervisor.spawn.Spawner;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code --spares N}: up to N worker processes started and warmed before their connection
 * exists, each handed one connection by descriptor passing and then a child like any other.
 *
 * <p>Each spare's fd 0 is its end of a private {@code socketpair(AF_UNIX, SOCK_SEQPACKET)}; the
 * supervisor keeps the other end ({@link SpareWorker#channel}) and speaks {@link SpareProtocol}
 * on it. Three parts: the {@link SparePool} decides which spare is where in its life; the
 * refill thread here, {@code forkserver-spares}, starts them; {@link HandOffs} waits for their
 * acknowledgements, so that {@link #offer} never waits for a spare.
 *
 * <p>The refill policy: one spare at a time (it waits for each to be ready before the next), and
 * only once no connection has come for {@link #REFILL_DELAY}: a JVM starting takes a core for a
 * good part of a second, and the connection just handed over should have it; under a load
 * faster than that, refills would only compete with the children spawned meanwhile, so the pool
 * waits for a pause. When no spare is ready the caller spawns on demand: a client never waits
 * for a refill.
 */
public final class Spares {

    /**
     * How long without a connection before a spare may start. Measured on 2 cores (README,
     * "Spare workers"): starting it at once slowed the first echo of the connection just handed
     * over. The property exists for bin/bench-spares, which compares the choice with 0.
     */
    static final Duration REFILL_DELAY = Duration.ofMillis(Long.getLong("forkserver.spares.refill-delay-ms", 150));
    /** A spare not ready after this is stopped and replaced (a worker that hangs at start). */
    static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /** After a spare dies before it was ready, the next waits this long, doubling up to the max. */
    static final Duration FIRST_BACKOFF = Duration.ofMillis(250);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    /**
     * How a spare is started, with its end of a new socketpair on fd 0, and registered so that
     * its exit comes to {@code onExit} until it takes a connection ({@link Children#startSpare}).
     */
    @FunctionalInterface
    public interface Starter {
        Spawner.SpareStart start(Children.SpareExit onExit) throws SpawnFailed;
    }

    /**
     * Makes a spare's process a connection's in the CPU's eyes ({@link Children#foreground}),
     * before it is sent the connection; false when it could not.
     */
    @FunctionalInterface
    public interface Foreground {
        boolean raise(ChildProcess process);
    }

    private final SparePool<SpareWorker> pool;
    private final Starter starter;
    private final Foreground foreground;
    private final EventLog log;
    private final HandOffs handOffs; // null with --spares 0: no thread, no descriptor for hand-offs that cannot happen
    private final Thread refiller;
    // The spares started and not yet seen to exit, by process: how an exit finds its spare.
    private final Map<ChildProcess, SpareWorker> byProcess = new ConcurrentHashMap<>();
    private volatile long lastConnectionNanos;

    public Spares(int target, Starter starter, EventLog log, HandOffs.Outcome outcome) throws ErrnoException {
        this(target, starter, process -> true, log, outcome);
    }

    public Spares(int target, Starter starter, Foreground foreground, EventLog log, HandOffs.Outcome outcome)
            throws ErrnoException {
        this.pool = new SparePool<>(target);
        this.starter = starter;
        this.foreground = foreground;
        this.log = log;
        this.handOffs = target > 0 ? new HandOffs(log, outcome) : null;
        this.lastConnectionNanos = System.nanoTime() - REFILL_DELAY.toNanos();
        this.refiller = Thread.ofPlatform().daemon().name("forkserver-spares").unstarted(this::refill);
    }

    /** Starts filling the pool; returns at once. */
    public void start() {
        if (pool.target() > 0) {
            handOffs.start();
            refiller.start();
        }
    }

    public int target() {
        return pool.target();
    }

    /** The hand-offs in flight (tests inject faults there). */
    HandOffs handOffs() {
        return handOffs;
    }

    /** Spares ready for a connection now. */
    public int ready() {
        return pool.readyCount();
    }

    /**
     * Sends {@code connection} to a ready spare with {@code variables} (what its environment
     * would have held), without waiting for its answer: true when a hand-off is under way (the
     * connection and the ticket are then {@link HandOffs}'s), false when no spare is ready or
     * none could be sent it (the caller still owns both and spawns).
     */
    public boolean offer(Accepted connection, Admission.Ticket ticket, Map<String, String> variables) {
        lastConnectionNanos = System.nanoTime(); // a spare or a spawn: either way, not quiet
        byte[] message = null; // encoded once a spare is there to take it
        for (SpareWorker spare; (spare = pool.take()) != null; ) {
            if (message == null) {
                message = SpareProtocol.encode(variables);
            }
            if (!foreground.raise(spare.process)) {
                // Still at a spare's low CPU weight: it would serve the connection behind every
                // spare warming up. Not sent: the next spare, or the caller's spawn.
                discard(spare);
                log.handOffFailed(spare.pid(), connection.remoteText(), "cannot raise its CPU weight");
                continue;
            }
            try {
                Posix.sendFdNow(spare.channel, connection.fd(), message);
            } catch (ErrnoException e) {
                // Not sent (EPIPE, ECONNRESET: it died; EAGAIN: a queue full, which a spare that
                // was sent nothing yet cannot have): a SEQPACKET record goes whole or not at all,
                // so the connection never reached it. The next spare, or the caller's spawn.
                discard(spare);
                log.handOffFailed(spare.pid(), connection.remoteText(), e.getMessage());
                continue;
            } catch (RuntimeException | Error e) {
                discard(spare); // whether it was sent is unknown: the spare must not serve it
                throw e;
            }
            // Sent: from here on the spare may hold the connection, so it is never the caller's
            // to spawn for again, whatever happens next. HandOffs settles it; should waking its
            // thread fail, that is the supervisor's failure (Broken), not a reason to spawn.
            handOffs.begin(spare, connection, ticket);
            return true;
        }
        return false;
    }

    /** A spare taken for a hand-off that did not happen: out of the pool, killed, its end closed. */
    private void discard(SpareWorker spare) {
        pool.remove(spare);
        spare.process.signal(true);
        spare.closeChannel();
    }

    /** A hand-off's spare holds its connection: it is a child now, no longer the pool's. */
    public void handedOver(SpareWorker spare) {
        pool.handedOver(spare);
    }

    /** A hand-off's spare did not take its connection: it is gone from the pool. */
    public void failed(SpareWorker spare) {
        pool.remove(spare);
    }

    /**
     * Stops every idle spare at once (SIGTERM; SIGKILL after {@code killGrace}), starts no more,
     * and waits for the hand-offs in flight to be settled: those spares hold a connection (or
     * gave it back to be spawned for), and drain as children.
     */
    public void stop(Duration killGrace) {
        if (pool.target() == 0) {
            return;
        }
        Map<SpareWorker, SparePool.State> idle = pool.stop();
        idle.forEach((spare, state) -> {
            spare.process.signal(false);
            if (state == SparePool.State.READY) {
                spare.closeChannel(); // the pool's; a STARTING one's is the refill thread's
            }
        });
        long deadline = System.nanoTime() + killGrace.toNanos();
        for (SpareWorker spare : idle.keySet()) {
            try {
                spare.process.exit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                spare.process.signal(true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                spare.process.signal(true);
            }
        }
        handOffs.awaitNone(HandOffs.TIMEOUT.plus(killGrace));
    }

    /** The refill thread: keeps N spares started, one at a time, after the refill delay. */
    private void refill() {
        Backoff backoff = new Backoff(FIRST_BACKOFF, MAX_BACKOFF);
        Duration pause = Duration.ZERO;
        while (awaitRoomFor(pause)) {
            SpareWorker spare = startOne();
            if (spare != null && awaitReady(spare)) {
                backoff.succeeded();
                pause = Duration.ZERO;
            } else {
                pause = backoff.failed();
            }
        }
    }

    /**
     * Waits until the pool has room, no connection has come for the refill delay, and
     * {@code pause} has passed; false once stopped.
     */
    private boolean awaitRoomFor(Duration pause) {
        long notBefore = System.nanoTime() + pause.toNanos();
        try {
            while (!pool.stopped()) {
                long now = System.nanoTime();
                long wait = Math.max(notBefore - now, lastConnectionNanos + REFILL_DELAY.toNanos() - now);
                if (!pool.hasRoom()) {
                    pool.awaitChange(0);
                } else if (wait > 0) {
                    pool.awaitChange(wait);
                } else {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    private SpareWorker startOne() {
        Spawner.SpareStart started;
        try {
            started = starter.start(this::exited);
        } catch (SpawnFailed e) {
            log.spareFailed(e.reason(), e.getMessage());
            return null;
        }
        SpareWorker spare = new SpareWorker(started.process(), started.channel());
        byProcess.put(spare.process, spare);
        if (!pool.add(spare)) {
            spare.process.signal(false); // started while stop() took its list: not one left behind
        }
        if (spare.process.hasExited()) {
            exited(spare); // it ended before it was in byProcess: the registry's call found nothing
        }
        return spare;
    }

    /** Waits for the spare's ready byte; true when it came and the spare joined the pool. */
    private boolean awaitReady(SpareWorker spare) {
        boolean readied;
        try {
            readied = Posix.pollReadable(new int[] {spare.channel}, (int) READY_TIMEOUT.toMillis()) == 0
                    && Posix.receiveByte(spare.channel) == SpareProtocol.READY;
        } catch (ErrnoException e) {
            readied = false;
        }
        if (readied && pool.ready(spare)) {
            log.spareReady(spare.pid(), Duration.ofNanos(System.nanoTime() - spare.startedNanos),
                    new LogLine.Count(pool.readyCount(), pool.target()));
            return true;
        }
        // Not ready (it died, hung, or we are stopping). While STARTING the channel is this
        // thread's: closed here; the exit, whenever it comes, is logged by exited().
        spare.process.signal(true);
        spare.closeChannel();
        return false;
    }

    /**
     * A spare's process ended, as the registry's exit handler says (on the reaper's thread), while
     * it had no connection of its own: if it was idle, it leaves the pool and is replaced; if a
     * hand-off was under way, {@link HandOffs} settles that.
     */
    private void exited(ChildProcess process, int exitValue) {
        SpareWorker spare = byProcess.get(process);
        if (spare != null) {
            exited(spare);
        }
    }

    private void exited(SpareWorker spare) {
        if (!spare.exitSeen.compareAndSet(false, true)) {
            return;
        }
        byProcess.remove(spare.process);
        SparePool.State was = pool.removeIfIdle(spare);
        if (was != SparePool.State.STARTING && was != SparePool.State.READY) {
            handOffs.exited(spare); // being handed a connection (HandOffs settles it), or a child now, or stopped
            return;
        }
        if (was == SparePool.State.READY) {
            spare.closeChannel(); // the pool's while READY, and nobody can take it any more
        }
        log.spareExit(spare.pid(), spare.process.exit().join(), was == SparePool.State.READY ? "ready" : "starting",
                Duration.ofNanos(System.nanoTime() - spare.startedNanos), new LogLine.Count(pool.readyCount(), pool.target()));
    }
}
