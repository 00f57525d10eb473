package forkserver.supervisor.systemd;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.log.EventLog;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * systemd's notification protocol, sd_notify(3), spoken without libsystemd: one datagram per
 * message ({@code READY=1}, {@code STATUS=...}, {@code WATCHDOG=1}, ...) on an AF_UNIX socket
 * to the address in {@code NOTIFY_SOCKET} (a path, or {@code @name} in the abstract namespace).
 *
 * <p>Telling systemd is never worth a connection: every message is sent without waiting
 * ({@code MSG_DONTWAIT}), and a failure (EAGAIN: systemd's queue is full; ENOENT, ECONNREFUSED:
 * nobody listens any more) is contained here, logged once per errno ({@code notify-failed}) and
 * otherwise ignored. Without {@code NOTIFY_SOCKET} every method does nothing.
 *
 * <p>The variables are for the supervisor alone ({@link #VARIABLES}): a child that found them
 * could tell systemd it is the service (with {@code NotifyAccess=all}), or ping its watchdog.
 */
public final class SystemdNotify {

    /** sd_notify(3)'s variables: read here, never passed to a child. */
    public static final List<String> VARIABLES = List.of("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID");

    private final String address; // null: not under systemd's notify protocol
    private final Duration watchdogInterval; // null: no watchdog for this process
    private final EventLog log;
    private final Set<String> failuresLogged = ConcurrentHashMap.newKeySet();
    private int socket = -1; // opened on first use; guarded by this

    private SystemdNotify(String address, Duration watchdogInterval, EventLog log) {
        this.address = address;
        this.watchdogInterval = watchdogInterval;
        this.log = log;
    }

    /**
     * The protocol as {@code environment} asks for it, for process {@code pid}. The watchdog is on
     * when {@code WATCHDOG_USEC} is set and {@code WATCHDOG_PID} is unset or names {@code pid}
     * (sd_watchdog_enabled(3)); it is pinged every half of it, as that page advises.
     *
     * @throws IllegalArgumentException when WATCHDOG_USEC is not a positive number (a unit's typo)
     */
    public static SystemdNotify of(Map<String, String> environment, long pid, EventLog log) {
        String address = environment.get("NOTIFY_SOCKET");
        if (address == null || address.isEmpty()) {
            return new SystemdNotify(null, null, log);
        }
        Duration interval = null;
        String usec = environment.get("WATCHDOG_USEC");
        String watchdogPid = environment.get("WATCHDOG_PID");
        if (usec != null && (watchdogPid == null || watchdogPid.equals(Long.toString(pid)))) {
            long micros;
            try {
                micros = Long.parseLong(usec);
            } catch (NumberFormatException e) {
                micros = 0;
            }
            if (micros <= 0) {
                throw new IllegalArgumentException("WATCHDOG_USEC=" + usec + ": expected a positive number of microseconds");
            }
            interval = Duration.ofNanos(micros * 1_000 / 2);
        }
        return new SystemdNotify(address, interval, log);
    }

    /** Whether NOTIFY_SOCKET was set: systemd (or a stand-in) listens. */
    public boolean enabled() {
        return address != null;
    }

    /** How often to ping the watchdog (half of WATCHDOG_USEC), or null when there is no watchdog for us. */
    public Duration watchdogInterval() {
        return watchdogInterval;
    }

    /** {@code READY=1}: start-up (or a reload) is done; with the status line. */
    void ready(String status) {
        send("READY=1\nSTATUS=" + status);
    }

    /**
     * {@code RELOADING=1}: a reload began (SIGHUP); {@code MONOTONIC_USEC} is the time on
     * CLOCK_MONOTONIC, which systemd uses to tell this reload from an older one.
     */
    void reloading() {
        send("RELOADING=1\nMONOTONIC_USEC=" + Posix.monotonicMicros());
    }

    /**
     * {@code MAINPID=}: after an upgrade, {@code pid} (the successor) is the service's main
     * process; sent while we still are, so that systemd takes it with {@code NotifyAccess=main}.
     */
    void mainPid(long pid) {
        send("MAINPID=" + pid);
    }

    /** {@code STOPPING=1}: the drain began. */
    void stopping(String status) {
        send("STOPPING=1\nSTATUS=" + status);
    }

    /** {@code STATUS=...}: one line for {@code systemctl status}. */
    void status(String status) {
        send("STATUS=" + status);
    }

    /** {@code WATCHDOG=1}: the acceptor is alive. */
    void watchdog() {
        send("WATCHDOG=1");
    }

    private synchronized void send(String message) {
        if (address == null) {
            return;
        }
        try {
            if (socket < 0) {
                socket = Posix.unixDatagramSocket();
            }
            Posix.sendToUnix(socket, address, message.getBytes(StandardCharsets.UTF_8));
        } catch (ErrnoException e) {
            if (failuresLogged.add(e.name())) {
                int newline = message.indexOf('\n');
                log.notifyFailed(address, newline < 0 ? message : message.substring(0, newline), e.name(), e.getMessage());
            }
        } catch (RuntimeException e) {
            // An address no sockaddr_un can hold: systemd never sets one, so say it once and stop trying.
            if (failuresLogged.add("EINVAL")) {
                log.notifyFailed(address, "any", "EINVAL", e.getMessage());
            }
        }
    }
}
