package forkserver.supervisor;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code --spares N}: up to N worker processes started and warmed before their connection
 * exists, each handed one connection by descriptor passing and then a child like any other.
 *
 * <p>Each spare's fd 0 is its end of a private {@code socketpair(AF_UNIX, SOCK_SEQPACKET)}; the
 * supervisor keeps the other end, {@link Spare#channel}. A ready spare has sent one byte; on a
 * connection, {@link #handOff} sends it the accepted socket ({@code SCM_RIGHTS}) with the
 * variables an on-demand child would find in its environment, and once it acknowledges closes
 * our end. SEQPACKET rather than a stream: one hand-off is one record, never split, never merged
 * with another, so the spare reads it with one {@code recvmsg}.
 *
 * <p>One thread, {@code forkserver-spares}, starts the spares one at a time (it waits for each
 * to be ready before the next), and only once no connection has come for {@link #REFILL_DELAY}:
 * a JVM starting takes a core for a good part of a second, and the connection just handed over
 * should have it; under a load faster than that, refills would only compete with the children
 * spawned meanwhile, so the pool waits for a pause. When no spare is ready the caller spawns on
 * demand: a client never waits for a refill.
 */
final class Spares {

    /**
     * How long without a connection before a spare may start. Measured on 2 cores (README,
     * "Spare workers"): starting it at once slowed the first echo of the connection just handed
     * over. The property exists for bin/bench-spares, which compares the choice with 0.
     */
    static final Duration REFILL_DELAY = Duration.ofMillis(Long.getLong("forkserver.spares.refill-delay-ms", 150));
    /**
     * How long a spare may take to acknowledge its hand-off (it answers within a millisecond when
     * well); one that does not is stopped and the connection goes elsewhere.
     */
    static final Duration HANDOFF_TIMEOUT = Duration.ofSeconds(5);
    /** What a spare sends when it is ready, and when it holds its connection (forkserver.worker.Spare). */
    static final byte READY = 'R';
    static final byte ACKNOWLEDGED = 'A';
    /** A spare not ready after this is stopped and replaced (a worker that hangs at start). */
    static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /** After a spare dies before it was ready, the next waits this long, doubling up to the max. */
    static final Duration FIRST_BACKOFF = Duration.ofMillis(250);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private enum State { STARTING, READY, TAKEN }

    private static final class Spare {
        final Process process;
        // The supervisor's end of the pair (close-on-exec). Owned by the refill thread while
        // STARTING, by the pool (under the lock) while READY, by whoever took it once TAKEN.
        final int channel;
        final long startedNanos;
        State state = State.STARTING; // guarded by the lock

        Spare(Process process, int channel) {
            this.process = process;
            this.channel = channel;
            this.startedNanos = System.nanoTime();
        }
    }

    private final int target;
    private final Spawner spawner;
    private final EventLog log;
    // Guards ready, all, lastConnectionNanos, stopped; the refill thread waits on it.
    private final Object lock = new Object();
    private final Deque<Spare> ready = new ArrayDeque<>(); // oldest first: the warmest
    private final List<Spare> all = new ArrayList<>(); // every spare not yet taken, for stop()
    private long lastConnectionNanos;
    private boolean stopped;
    private final Thread refiller;

    Spares(int target, Spawner spawner, EventLog log) {
        this.target = target;
        this.spawner = spawner;
        this.log = log;
        this.lastConnectionNanos = System.nanoTime() - REFILL_DELAY.toNanos();
        this.refiller = Thread.ofPlatform().daemon().name("forkserver-spares").unstarted(this::refill);
    }

    /** Starts filling the pool; returns at once. */
    void start() {
        if (target > 0) {
            refiller.start();
        }
    }

    int target() {
        return target;
    }

    /** Spares ready for a connection now. */
    int ready() {
        synchronized (lock) {
            return ready.size();
        }
    }

    /**
     * Hands {@code connection} to a ready spare, with {@code variables} (what its environment
     * would have held) in the message, and returns that spare's process, now the connection's
     * child. Null when no spare is ready, or none took it: spawn on demand then. The caller still
     * owns and closes its copy of the connection.
     */
    Process handOff(Accepted connection, Map<String, String> variables) {
        byte[] message = encode(variables);
        synchronized (lock) {
            lastConnectionNanos = System.nanoTime(); // a spare or a spawn: either way, not quiet
        }
        while (true) {
            Spare spare;
            synchronized (lock) {
                spare = ready.pollFirst();
                if (spare == null) {
                    return null;
                }
                spare.state = State.TAKEN;
                all.remove(spare);
                lock.notifyAll(); // one fewer: the refill thread counts again
            }
            try {
                Posix.sendFd(spare.channel, connection.fd(), message);
                if (acknowledged(spare)) {
                    return spare.process;
                }
                // Died with the message unread (its queue, and the copy in it, went with it), or
                // stalled: stopped for good before anyone else gets the connection, so that no
                // two processes ever read it.
                spare.process.destroyForcibly();
                awaitExit(spare.process, HANDOFF_TIMEOUT);
                log.handOffFailed(spare.process.pid(), HostPort.format(connection.remote()),
                        "no acknowledgement (" + describeExit(spare.process) + ")");
            } catch (ErrnoException | RuntimeException e) {
                // Died between being chosen and sendmsg (EPIPE, ECONNRESET), or cannot take it.
                spare.process.destroyForcibly();
                log.handOffFailed(spare.process.pid(), HostPort.format(connection.remote()), e.getMessage());
            } finally {
                closeQuietly(spare.channel);
            }
            // The connection is still ours, untouched: the next spare, or the caller's spawn.
        }
    }

    /**
     * Waits for the spare's one-byte acknowledgement, sent as soon as it holds the connection
     * and before it reads a byte of it. Until then our copy stays open: a spare that dies with
     * the message in its queue takes nothing with it.
     */
    private static boolean acknowledged(Spare spare) throws ErrnoException {
        long deadline = System.nanoTime() + HANDOFF_TIMEOUT.toNanos();
        while (true) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                return false;
            }
            if (Posix.pollReadable(new int[] {spare.channel}, (int) Math.min(left, Integer.MAX_VALUE)) == 0) {
                return Posix.receiveByte(spare.channel) == ACKNOWLEDGED; // -1: end of file, it died
            }
        }
    }

    /**
     * Stops every idle spare at once (SIGTERM; SIGKILL after {@code killGrace}) and starts no
     * more. Spares that hold a connection are children now, drained as such.
     */
    void stop(Duration killGrace) {
        List<Spare> idle;
        synchronized (lock) {
            stopped = true;
            lock.notifyAll();
            idle = List.copyOf(all);
        }
        for (Spare spare : idle) {
            spare.process.destroy();
        }
        long deadline = System.nanoTime() + killGrace.toNanos();
        for (Spare spare : idle) {
            try {
                spare.process.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                spare.process.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                spare.process.destroyForcibly();
            }
        }
    }

    /** The refill thread: keeps N spares started, one at a time, after the refill delay. */
    private void refill() {
        Duration backoff = Duration.ZERO;
        while (awaitRoomFor(backoff)) {
            Spare spare = startOne();
            if (spare == null) {
                backoff = next(backoff);
                continue;
            }
            if (awaitReady(spare)) {
                backoff = Duration.ZERO;
            } else {
                backoff = next(backoff);
            }
        }
    }

    /**
     * Waits until the pool has room, no connection has come for the refill delay, and
     * {@code backoff} has passed; false once stopped.
     */
    private boolean awaitRoomFor(Duration backoff) {
        long notBefore = System.nanoTime() + backoff.toNanos();
        synchronized (lock) {
            while (!stopped) {
                long now = System.nanoTime();
                long wait = Math.max(notBefore - now, lastConnectionNanos + REFILL_DELAY.toNanos() - now);
                if (all.size() >= target) {
                    waitOn(0);
                } else if (wait > 0) {
                    waitOn(wait);
                } else {
                    return true;
                }
            }
            return false;
        }
    }

    private Spare startOne() {
        int[] pair;
        try {
            pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
        } catch (ErrnoException e) {
            log.spareFailed(e.getMessage());
            return null;
        }
        Process process;
        try {
            process = spawner.spawnSpare(pair[1]);
        } catch (java.io.IOException | RuntimeException e) {
            closeQuietly(pair[0]);
            log.spareFailed(e.getMessage());
            return null;
        } finally {
            closeQuietly(pair[1]); // the spare has its copy on fd 0
        }
        Spare spare = new Spare(process, pair[0]);
        synchronized (lock) {
            all.add(spare);
            if (stopped) {
                process.destroy(); // started while stop() took its list: not one left behind
            }
        }
        process.onExit().thenRun(() -> exited(spare));
        return spare;
    }

    /** Waits for the spare's ready byte; true when it came and the spare joined the pool. */
    private boolean awaitReady(Spare spare) {
        boolean readied = false;
        try {
            if (Posix.pollReadable(new int[] {spare.channel}, (int) READY_TIMEOUT.toMillis()) == 0) {
                readied = Posix.receiveByte(spare.channel) == READY;
            }
        } catch (ErrnoException e) {
            readied = false;
        }
        synchronized (lock) {
            if (readied && spare.state == State.STARTING && !stopped) {
                spare.state = State.READY;
                ready.addLast(spare);
                log.spareReady(spare.process.pid(), Duration.ofNanos(System.nanoTime() - spare.startedNanos),
                        new LogLine.Count(ready.size(), target));
                return true;
            }
            all.remove(spare);
        }
        // Not ready (it died, hung, or we are stopping): the refill thread still owns the channel.
        spare.process.destroyForcibly();
        closeQuietly(spare.channel);
        awaitExit(spare.process, READY_TIMEOUT);
        synchronized (lock) {
            if (!stopped) {
                log.spareExit(spare.process.pid(), exitValue(spare.process), "starting",
                        Duration.ofNanos(System.nanoTime() - spare.startedNanos), new LogLine.Count(ready.size(), target));
            }
        }
        return false;
    }

    /** A spare's process ended: if it was idle in the pool, it leaves it and is replaced. */
    private void exited(Spare spare) {
        synchronized (lock) {
            if (spare.state != State.READY) {
                return; // starting: the refill thread sees end of file; taken: a child now
            }
            ready.remove(spare);
            all.remove(spare);
            spare.state = State.TAKEN;
            if (!stopped) {
                log.spareExit(spare.process.pid(), exitValue(spare.process), "ready",
                        Duration.ofNanos(System.nanoTime() - spare.startedNanos), new LogLine.Count(ready.size(), target));
            }
            lock.notifyAll();
        }
        closeQuietly(spare.channel);
    }

    /** The hand-off message: {@code NAME=VALUE}, each ended by NUL, UTF-8 (forkserver.worker.Spare reads it). */
    static byte[] encode(Map<String, String> variables) {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        variables.forEach((name, value) -> {
            message.writeBytes((name + "=" + value).getBytes(StandardCharsets.UTF_8));
            message.write(0);
        });
        return message.toByteArray();
    }

    private static void awaitExit(Process process, Duration timeout) {
        try {
            process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code status=0}, {@code signal=KILL}, or {@code running} (a process that would not die). */
    private static String describeExit(Process process) {
        return process.isAlive() ? "running" : ExitStatus.describe(process.exitValue());
    }

    /** The exit value, or null while the process still runs. */
    private static Integer exitValue(Process process) {
        return process.isAlive() ? null : process.exitValue();
    }

    private static Duration next(Duration backoff) {
        Duration doubled = backoff.isZero() ? FIRST_BACKOFF : backoff.multipliedBy(2);
        return doubled.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : doubled;
    }

    private void waitOn(long nanos) {
        try {
            if (nanos == 0) {
                lock.wait();
            } else {
                TimeUnit.NANOSECONDS.timedWait(lock, nanos);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopped = true;
        }
    }

    private static void closeQuietly(int fd) {
        try {
            Posix.close(fd);
        } catch (ErrnoException e) {
            throw new IllegalStateException("closing a spare's socketpair end " + fd, e); // EBADF: a bug
        }
    }
}
