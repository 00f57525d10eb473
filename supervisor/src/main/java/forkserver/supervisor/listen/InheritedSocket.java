package forkserver.supervisor.listen;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A listening socket handed over by whoever started the supervisor, found without being asked
 * for: systemd's {@code LISTEN_FDS} protocol (the socket on fd 3), or a listening socket on fd 0
 * (systemd {@code Accept=no} with {@code StandardInput=socket}, inetd {@code wait}, s6-tcpserverd's
 * convention).
 *
 * <p>Once {@link #detect} has found one, the socket is on a close-on-exec, non-blocking descriptor
 * numbered 3 or more, and none of fds 0, 1 and 2 refers to it any more (they point at /dev/null):
 * fd 0 is where the {@code Spawner} puts each connection, and every child inherits fds 1 and 2,
 * and a child must never hold the listening socket. So call it before the Spawner is created.
 *
 * <p>The socket belongs to the activator: the supervisor accepts on it and closes its own
 * descriptor when it stops, but never shuts it down, so that connections still queued on it are
 * served by the next instance.
 */
public final class InheritedSocket {

    /** sd_listen_fds(3): the first passed descriptor. */
    static final int SD_LISTEN_FDS_START = 3;
    /** systemd's variables for the supervisor alone; its children must not see them. */
    static final List<String> ACTIVATION_VARIABLES = List.of("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES");

    private final int fd;
    private final String how;
    private final boolean owned; // handed over by a predecessor that had bound it: ours to close at stop

    private InheritedSocket(int fd, String how, boolean owned) {
        this.fd = fd;
        this.how = how;
        this.owned = owned;
    }

    /** Whether the socket is the supervisor's to close at stop, as one it bound itself would be. */
    boolean owned() {
        return owned;
    }

    /**
     * A socket a predecessor passed at an upgrade ({@link Handover}); {@code name} is what the
     * predecessor called it. It arrived close-on-exec; non-blocking it already is.
     */
    static InheritedSocket handedOver(int fd, String how, String name) throws ErrnoException {
        if (!isListening(fd)) {
            Posix.close(fd);
            throw new IllegalArgumentException("the socket handed over as " + name + " is not listening");
        }
        // A socket the predecessor had bound is ours now as it was its; an activator's stays the activator's.
        return new InheritedSocket(fd, how, name.startsWith(Listener.BOUND));
    }

    /** The descriptor to accept on (close-on-exec, non-blocking, not 0, 1 or 2). */
    int fd() {
        return fd;
    }

    /** How the socket came, for the startup line: {@code systemd LISTEN_FDS fd 3}. */
    public String how() {
        return how;
    }

    /**
     * The socket an activator passed to process {@code pid}, or null when there is none and the
     * supervisor should bind one itself.
     *
     * @throws IllegalArgumentException when a socket was passed that cannot be served (several
     *     sockets, not a listening TCP socket): the unit or inetd.conf line is wrong
     * @throws ErrnoException when the descriptor cannot be set up
     */
    public static InheritedSocket detect(Map<String, String> environment, long pid) throws ErrnoException {
        // As sd_listen_fds(3): the variables count only when LISTEN_PID names this very process,
        // not a parent that forgot to unset them.
        if (Long.toString(pid).equals(environment.get("LISTEN_PID"))) {
            String count = environment.get("LISTEN_FDS");
            if (count != null && !"0".equals(count)) { // none passed: as sd_listen_fds() returning 0
                if (!"1".equals(count)) {
                    throw new IllegalArgumentException("LISTEN_FDS=" + count + ": forkserver serves exactly one"
                            + " listening socket; give its .socket unit one ListenStream=");
                }
                requireTcpListener(SD_LISTEN_FDS_START, "fd 3 (from systemd, LISTEN_FDS=1)");
                Posix.fcntl(SD_LISTEN_FDS_START, Posix.F_SETFD, Posix.FD_CLOEXEC);
                return adopt(SD_LISTEN_FDS_START, "systemd LISTEN_FDS fd 3");
            }
        }
        if (isConnectedTcp(0)) {
            // inetd "nowait" or systemd Accept=yes started us for one client: we would ignore it
            // (it hangs) and bind a port of our own. The fix is in the activator's configuration.
            throw new IllegalArgumentException("fd 0 is a connected TCP socket: the supervisor was started for one"
                    + " connection (inetd nowait, systemd Accept=yes); run bin/worker there, or give the supervisor"
                    + " the listening socket (inetd wait, Accept=no)");
        }
        if (!isListening(0)) {
            return null; // /dev/null, a terminal, a pipe, a UNIX socket: ours to ignore
        }
        requireTcpListener(0, "fd 0");
        return adopt(Posix.dupCloexec(0, SD_LISTEN_FDS_START), "inherited on fd 0");
    }

    /** {@code environment} without systemd's activation variables: what children may inherit. */
    public static Map<String, String> withoutActivationVariables(Map<String, String> environment) {
        Map<String, String> copy = new HashMap<>(environment);
        ACTIVATION_VARIABLES.forEach(copy::remove);
        return copy;
    }

    private static InheritedSocket adopt(int fd, String how) throws ErrnoException {
        // The Listener polls, then accepts: if another process (or a client's reset) took the
        // connection in between, a blocking accept would hang and shutdown could not wake it.
        Posix.fcntl(fd, Posix.F_SETFL, Posix.fcntl(fd, Posix.F_GETFL, 0) | Posix.O_NONBLOCK);
        parkStdioAwayFrom(fd);
        return new InheritedSocket(fd, how, false);
    }

    /**
     * Points each of fds 0, 1 and 2 that is the listening socket at /dev/null. inetd ({@code wait})
     * puts the socket on all three, systemd's {@code StandardInput=socket} on 0 and, by default,
     * on 1 and 2: the supervisor's log would fail on it and every child would inherit it.
     */
    private static void parkStdioAwayFrom(int fd) throws ErrnoException {
        String socket = target(fd);
        int devNull = -1;
        try {
            for (int std = 0; std <= 2; std++) {
                if (socket != null && socket.equals(target(std))) {
                    if (devNull < 0) {
                        devNull = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
                    }
                    Posix.dup2(devNull, std);
                }
            }
        } finally {
            if (devNull >= 0) {
                Posix.close(devNull);
            }
        }
    }

    /** What a descriptor refers to, as /proc shows it ({@code socket:[12345]}); null when closed. */
    private static String target(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether {@code fd} is a TCP socket that is not listening: one client's connection. */
    private static boolean isConnectedTcp(int fd) {
        try {
            int domain = Posix.getsockopt(fd, Posix.SOL_SOCKET, Posix.SO_DOMAIN);
            return (domain == Posix.AF_INET || domain == Posix.AF_INET6)
                    && Posix.getsockopt(fd, Posix.SOL_SOCKET, Posix.SO_TYPE) == Posix.SOCK_STREAM
                    && Posix.getsockopt(fd, Posix.SOL_SOCKET, Posix.SO_ACCEPTCONN) == 0;
        } catch (ErrnoException e) {
            return false; // not a socket (ENOTSOCK), or closed (EBADF)
        }
    }

    private static boolean isListening(int fd) {
        try {
            return Posix.getsockopt(fd, Posix.SOL_SOCKET, Posix.SO_ACCEPTCONN) != 0;
        } catch (ErrnoException e) {
            return false; // not a socket (ENOTSOCK), or closed (EBADF)
        }
    }

    private static void requireTcpListener(int fd, String what) {
        int type;
        int domain;
        try {
            if (Posix.getsockopt(fd, Posix.SOL_SOCKET, Posix.SO_ACCEPTCONN) == 0) {
                throw new IllegalArgumentException(what + " is a socket, but not a listening one");
            }
            type = Posix.getsockopt(fd, Posix.SOL_SOCKET, Posix.SO_TYPE);
            domain = Posix.getsockopt(fd, Posix.SOL_SOCKET, Posix.SO_DOMAIN);
        } catch (ErrnoException e) {
            throw new IllegalArgumentException(what + " is not a listening socket: " + e.reason());
        }
        if (type != Posix.SOCK_STREAM || (domain != Posix.AF_INET && domain != Posix.AF_INET6)) {
            throw new IllegalArgumentException(what + " is a listening socket, but not TCP over IPv4 or IPv6"
                    + " (family " + domain + ", type " + type + ")");
        }
    }
}
