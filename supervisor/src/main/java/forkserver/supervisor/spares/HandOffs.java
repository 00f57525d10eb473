package forkserver.supervisor.spares;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.posix.SpareProtocol;
import forkserver.supervisor.base.Monitors;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.Watchlist;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.base.ExitStatus;

import java.time.Duration;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The hand-offs to spares in flight. The acceptor sends a connection to a spare and moves on;
 * this class's thread, {@code forkserver-handoffs}, waits for each spare's acknowledgement, so a
 * burst of connections is handed to N spares at once and a spare that hangs holds nobody up but
 * its own client, for {@link #TIMEOUT} at most.
 *
 * <p>Until the acknowledgement the connection is the supervisor's: a spare that died with the
 * message unread took nothing with it. Any answer but the acknowledgement (end of file, silence
 * past the timeout, a wrong byte) gets the spare SIGKILLed, and the connection is given to
 * another process only once the spare is dead: then nothing can read the client but the next
 * one. If the acknowledgement turns out to have come after all (sent just as the kill landed),
 * the spare may have read the client's first bytes, so the connection is closed rather than
 * served twice.
 */
public final class HandOffs {

    /** How long a spare may take to acknowledge; a well one answers within a millisecond. */
    static final Duration TIMEOUT = Duration.ofMillis(250);

    /** What became of a hand-off; called on this class's thread. */
    public interface Outcome {
        /** The spare holds the connection: it is that connection's child now. */
        void taken(SpareWorker spare, Accepted connection, Admission.Ticket ticket);

        /** The spare did not take it and is dead: the connection, untouched, is to be given elsewhere. */
        void returned(SpareWorker spare, Accepted connection, Admission.Ticket ticket);

        /** The spare acknowledged as it was killed: the connection cannot be served safely. */
        void lost(SpareWorker spare, Accepted connection, Admission.Ticket ticket);
    }

    private static final class Pending {
        final SpareWorker spare;
        final Accepted connection;
        final Admission.Ticket ticket;
        final long deadline;
        String failure; // why the spare is being killed; null while we wait for its answer

        Pending(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
            this.spare = spare;
            this.connection = connection;
            this.ticket = ticket;
            this.deadline = System.nanoTime() + TIMEOUT.toNanos();
        }
    }

    private final EventLog log;
    private final Outcome outcome;
    // The spares' channels being waited on (this thread's only), the wake-up, the nearest deadline.
    private final Watchlist<Pending> waiting;
    private final Queue<Pending> incoming = new ConcurrentLinkedQueue<>();
    private final Queue<Pending> killed = new ConcurrentLinkedQueue<>(); // dead now, to be settled
    private final Map<SpareWorker, Pending> dying = new ConcurrentHashMap<>(); // killed, exit not yet seen
    private final Object idle = new Object(); // notified when nothing is in flight
    private int inFlight; // guarded by idle
    private final Thread thread;

    HandOffs(EventLog log, Outcome outcome) throws ErrnoException {
        this.log = log;
        this.outcome = outcome;
        this.waiting = new Watchlist<>();
        this.thread = Thread.ofPlatform().daemon().name("forkserver-handoffs").unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /**
     * {@code spare} has been sent {@code connection}: from now on this class settles it. The
     * caller gives up the connection and the ticket.
     */
    void begin(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
        // Recorded before the wake-up: should waking fail, the hand-off is still this class's
        // (and the supervisor's failure is Broken), never the caller's to give to another process.
        synchronized (idle) {
            inFlight++;
        }
        incoming.add(new Pending(spare, connection, ticket));
        waiting.wakeUp();
    }

    /** Waits until no hand-off is in flight, at most {@code timeout}; true when none is. */
    boolean awaitNone(Duration timeout) {
        return Monitors.await(idle, () -> inFlight == 0, timeout);
    }

    private void run() {
        while (true) {
            for (Pending pending; (pending = incoming.poll()) != null; ) {
                watch(pending);
            }
            for (Pending pending; (pending = killed.poll()) != null; ) {
                settle(pending);
            }
            for (Pending pending : waiting.await()) {
                answer(pending);
            }
            for (Pending pending : waiting.expired(System.nanoTime())) {
                kill(pending, "no acknowledgement within " + EventLog.seconds(TIMEOUT));
            }
        }
    }

    /** From now on the spare's answer (or its silence past the deadline) is waited for. */
    private void watch(Pending pending) {
        try {
            waiting.add(pending.spare.channel, pending, pending.deadline);
        } catch (ErrnoException e) {
            kill(pending, "its channel could not be watched: " + e.getMessage()); // ENOMEM, ENOSPC in the kernel
        }
    }

    /** No longer waited for: answered, or being killed. */
    private void stopWaiting(Pending pending) {
        waiting.remove(pending.spare.channel);
    }

    /** The spare's channel is readable: its acknowledgement, or the sign that it will not give one. */
    private void answer(Pending pending) {
        int answer;
        try {
            answer = Posix.receiveByteNow(pending.spare.channel);
        } catch (ErrnoException e) {
            kill(pending, e.getMessage());
            return;
        }
        if (answer == Posix.NOTHING_YET) {
            return;
        }
        if (answer == SpareProtocol.ACKNOWLEDGED) {
            stopWaiting(pending);
            pending.spare.closeChannel();
            try {
                outcome.taken(pending.spare, pending.connection, pending.ticket);
            } finally {
                done();
            }
            return;
        }
        kill(pending, answer < 0 ? "ended before acknowledging" : "answered " + answer + " instead of acknowledging");
    }

    /** SIGKILL, then settle once it is dead: only then may another process get the connection. */
    private void kill(Pending pending, String why) {
        stopWaiting(pending);
        pending.failure = why;
        dying.put(pending.spare, pending);
        pending.spare.process.signal(true);
        if (pending.spare.process.hasExited()) {
            exited(pending.spare); // its exit was handled before it was dying here
        }
    }

    /**
     * A spare in a hand-off has exited (the registry's exit handler, through {@link Spares}): if
     * it was killed here, its hand-off is settled on this class's thread.
     */
    void exited(SpareWorker spare) {
        Pending pending = dying.remove(spare);
        if (pending != null) {
            killed.add(pending);
            waiting.wakeUp();
        }
    }

    /** The spare is dead: did it take the connection in its last moment? */
    private void settle(Pending pending) {
        try {
            int late;
            try {
                late = Posix.receiveByteNow(pending.spare.channel);
            } catch (ErrnoException e) {
                late = -1;
            }
            pending.spare.closeChannel();
            String exit = ExitStatus.describe(pending.spare.process.exit().join());
            String remote = pending.connection.remoteText();
            if (late == SpareProtocol.ACKNOWLEDGED) {
                log.handOffFailed(pending.spare.pid(), remote, "acknowledged only as it was killed ("
                        + pending.failure + ", " + exit + "); the connection is closed");
                outcome.lost(pending.spare, pending.connection, pending.ticket);
            } else {
                log.handOffFailed(pending.spare.pid(), remote, pending.failure + " (" + exit + ")");
                outcome.returned(pending.spare, pending.connection, pending.ticket);
            }
        } finally {
            done();
        }
    }

    private void done() {
        synchronized (idle) {
            inFlight--;
            idle.notifyAll();
        }
    }

    /** Tests: from now on every wake-up of this class's thread fails with {@code fault}. */
    void failWakeUps(ErrnoException fault) {
        waiting.failWakeUps(fault);
    }
}
