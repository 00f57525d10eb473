package forkserver.supervisor.systemd;

import forkserver.supervisor.systemd.Notifier;

import java.time.Duration;

/**
 * Whether the acceptor is alive and able to accept, for systemd's watchdog ({@link Notifier}).
 *
 * <p>The acceptor spends its life in two kinds of place: its wait points (waiting for a
 * connection in {@code poll}, or for its turn in {@code Admission.awaitTurn()} at {@code -c},
 * a dry {@code --rate} bucket or a back-off), where waiting as long as it takes is right; and
 * the work on one connection between them (admission, a spawn or a hand-off, the log line),
 * which takes milliseconds. So it marks each wait point it enters and leaves, and it is alive
 * when it is in one, or when it left the last one less than a limit ago. An acceptor stuck in
 * the work (a log it cannot write, a lock never released, a call that never returns) stops
 * being alive once the limit passes, and the pings stop: that is what a watchdog is for.
 *
 * <p>Volatile fields only: the acceptor's cost is two writes per wait point.
 */
public final class AcceptorHeartbeat {

    private volatile long busySince = System.nanoTime(); // when the acceptor last left a wait point
    private volatile boolean waiting;
    private volatile boolean stopped;

    /** The acceptor enters a wait point (poll for a connection, admission's wait). */
    public void waiting() {
        waiting = true;
    }

    /** The acceptor left its wait point and works on a connection. */
    public void busy() {
        busySince = System.nanoTime(); // before the flag: a reader that sees busy sees this time
        waiting = false;
    }

    /** The acceptor is done for good (the drain began, or it failed): never alive again. */
    public void stopped() {
        stopped = true;
    }

    /** Whether the acceptor waits at a wait point, or has worked for less than {@code limit}. */
    public boolean alive(Duration limit) {
        return !stopped && (waiting || System.nanoTime() - busySince < limit.toNanos());
    }
}
