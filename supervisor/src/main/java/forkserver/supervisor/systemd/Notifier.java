package forkserver.supervisor.systemd;


import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The thread that keeps systemd informed ({@code forkserver-notify}), when it listens
 * ({@link SystemdNotify#enabled()}): {@code READY=1} once the supervisor serves, {@code STATUS=}
 * whenever the status line changed (at most once a {@link #STATUS_INTERVAL}), and, when the
 * unit has {@code WatchdogSec=}, {@code WATCHDOG=1} every half of it while, and only while, the
 * {@link AcceptorHeartbeat} says the acceptor is alive.
 *
 * <p>READY waits for the spares to be ready the first time (so that {@code systemctl start}
 * returns with the pool warm), at most {@link #SPARES_WAIT}: clients are served meanwhile anyway
 * (by spawning), and spares that cannot start must not hold the unit in "activating".
 */
public final class Notifier {

    /** STATUS= at most this often. */
    static final Duration STATUS_INTERVAL = Duration.ofSeconds(1);
    /** How long READY=1 may wait for the first fill of {@code --spares}. */
    static final Duration SPARES_WAIT = Duration.ofSeconds(30);

    private final SystemdNotify notify;
    private final AcceptorHeartbeat heartbeat;
    private final Supplier<String> status;
    private final BooleanSupplier sparesReady;
    private final Thread thread;
    private final Object wake = new Object();
    private boolean stopped; // guarded by wake

    /**
     * {@code status}: the STATUS= line now; {@code sparesReady}: whether the pool is full (true
     * without --spares).
     */
    public Notifier(SystemdNotify notify, AcceptorHeartbeat heartbeat, Supplier<String> status, BooleanSupplier sparesReady) {
        this.notify = notify;
        this.heartbeat = heartbeat;
        this.status = status;
        this.sparesReady = sparesReady;
        this.thread = Thread.ofPlatform().daemon().name("forkserver-notify").unstarted(this::run);
    }

    /** Starts telling systemd, once the supervisor accepts; nothing without NOTIFY_SOCKET. */
    public void start() {
        if (notify.enabled()) {
            thread.start();
        }
    }

    /** SIGHUP: a reload begins. */
    public void reloading() {
        notify.reloading();
    }

    /** The reload is done: ready again. */
    public void reloaded() {
        notify.ready(status.get());
    }

    /**
     * An upgrade's successor serves: no more pings or STATUS from here, and {@code MAINPID=} tells
     * systemd that the successor is the service now (no STOPPING=1: the service goes on).
     */
    public void handedOver(long successor) {
        synchronized (wake) {
            stopped = true;
            wake.notifyAll();
        }
        notify.mainPid(successor);
    }

    /** The drain begins: STOPPING=1, and no more pings (the acceptor is gone). */
    public void stopping() {
        synchronized (wake) {
            stopped = true;
            wake.notifyAll();
        }
        notify.stopping(status.get());
    }

    private void run() {
        Duration ping = notify.watchdogInterval();
        long tick = ping == null ? STATUS_INTERVAL.toNanos() : Math.min(STATUS_INTERVAL.toNanos(), ping.toNanos());
        long readyDeadline = System.nanoTime() + SPARES_WAIT.toNanos();
        boolean ready = false;
        String lastStatus = null;
        long lastStatusAt = 0;
        long nextPing = System.nanoTime();
        while (!isStopped()) {
            long now = System.nanoTime();
            if (!ready && (sparesReady.getAsBoolean() || now - readyDeadline >= 0)) {
                ready = true;
                lastStatus = status.get();
                lastStatusAt = now;
                notify.ready(lastStatus);
            } else if (ready && now - lastStatusAt >= STATUS_INTERVAL.toNanos()) {
                String current = status.get();
                if (!current.equals(lastStatus)) {
                    lastStatus = current;
                    lastStatusAt = now;
                    notify.status(current);
                }
            }
            if (ping != null && now - nextPing >= 0) {
                // Not alive: no ping, and systemd restarts the service once WatchdogSec passes.
                if (heartbeat.alive(ping)) {
                    notify.watchdog();
                }
                nextPing = now + ping.toNanos();
            }
            pause(ping == null ? tick : Math.min(tick, Math.max(nextPing - System.nanoTime(), 1)));
        }
    }

    private boolean isStopped() {
        synchronized (wake) {
            return stopped;
        }
    }

    private void pause(long nanos) {
        synchronized (wake) {
            if (!stopped) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(wake, nanos);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    stopped = true;
                }
            }
        }
    }
}
