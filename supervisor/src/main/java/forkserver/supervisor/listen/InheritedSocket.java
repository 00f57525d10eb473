package forkserver.supervisor.listen;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A listening socket handed over by whoever started the supervisor, found without being asked
 * for: systemd's {@code LISTEN_FDS} protocol (the sockets on fds 3 and up, named by
 * {@code LISTEN_FDNAMES}), or a listening socket on fd 0
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
    private final String name; // systemd's FileDescriptorName=, a predecessor's name for it, or null
    private final boolean unix;
    private final boolean owned; // handed over by a predecessor that had bound it: ours to close at stop

    private InheritedSocket(int fd, String how, String name, boolean unix, boolean owned) {
        this.fd = fd;
        this.how = how;
        this.name = name;
        this.unix = unix;
        this.owned = owned;
    }

    /** Its name from {@code LISTEN_FDNAMES} or from the predecessor that handed it over, or null. */
    String name() {
        return name;
    }

    /** Whether it is a UNIX-domain socket (else TCP over IPv4 or IPv6). */
    public boolean unix() {
        return unix;
    }

    /** Whether the socket is the supervisor's to close at stop, as one it bound itself would be. */
    boolean owned() {
        return owned;
    }

    /**
     * A socket a predecessor passed at an upgrade ({@link Handover}); {@code name} is what the
     * predecessor called it, {@code owned} whether the predecessor had bound it (then it is ours
     * now, socket file and all, as it was its; an activator's stays the activator's). It arrived
     * close-on-exec; non-blocking it already is.
     */
    static InheritedSocket handedOver(int fd, String how, String name, boolean owned) throws ErrnoException {
        if (!isListening(fd)) {
            Posix.close(fd);
            throw new IllegalArgumentException("the socket handed over as " + name + " is not listening");
        }
        boolean unix = Posix.getsockopt(fd, Posix.SOL_SOCKET, Posix.SO_DOMAIN) == Posix.AF_UNIX;
        return new InheritedSocket(fd, how, name, unix, owned);
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
     * The sockets an activator passed to process {@code pid}, in order (empty when there are none
     * and the supervisor should bind its own).
     *
     * @throws IllegalArgumentException when a socket was passed that cannot be served (not a
     *     listening TCP or UNIX stream socket, a connection): the unit or inetd.conf line is wrong
     * @throws ErrnoException when a descriptor cannot be set up
     */
    public static List<InheritedSocket> detect(Map<String, String> environment, long pid) throws ErrnoException {
        // As sd_listen_fds(3): the variables count only when LISTEN_PID names this very process,
        // not a parent that forgot to unset them.
        if (Long.toString(pid).equals(environment.get("LISTEN_PID"))) {
            String countText = environment.get("LISTEN_FDS");
            int count = listenFds(countText);
            if (count > 0) { // none passed: as sd_listen_fds() returning 0
                List<String> names = names(environment.get("LISTEN_FDNAMES"), count);
                List<InheritedSocket> sockets = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    int fd = SD_LISTEN_FDS_START + i;
                    String what = "fd " + fd + " (from systemd, LISTEN_FDS=" + count + ")";
                    boolean unix = requireStreamListener(fd, what);
                    Posix.fcntl(fd, Posix.F_SETFD, Posix.FD_CLOEXEC);
                    String name = names.get(i);
                    sockets.add(adopt(fd, "systemd LISTEN_FDS fd " + fd + (name == null ? "" : " " + name), name, unix));
                }
                return sockets;
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
            return List.of(); // /dev/null, a terminal, a pipe, a connected UNIX socket: ours to ignore
        }
        boolean unix = requireStreamListener(0, "fd 0");
        return List.of(adopt(Posix.dupCloexec(0, SD_LISTEN_FDS_START), "inherited on fd 0", null, unix));
    }

    /** {@code LISTEN_FDS} as a count; a value that is no count is the unit's mistake, said in one line. */
    private static int listenFds(String text) {
        if (text == null) {
            return 0;
        }
        try {
            int count = Integer.parseInt(text);
            if (count >= 0) {
                return count;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("LISTEN_FDS=" + text + ": expected the number of sockets passed");
    }

    /**
     * {@code LISTEN_FDNAMES}, colon-separated, one per socket (sd_listen_fds_with_names(3)); null
     * for each when it is not set, or does not name as many as were passed (then it names none
     * reliably).
     */
    private static List<String> names(String text, int count) {
        List<String> names = new ArrayList<>(Collections.nCopies(count, (String) null));
        if (text != null) {
            String[] given = text.split(":", -1);
            if (given.length == count) {
                for (int i = 0; i < count; i++) {
                    names.set(i, given[i].isEmpty() ? null : given[i]);
                }
            }
        }
        return names;
    }

    /** {@code environment} without systemd's activation variables: what children may inherit. */
    public static Map<String, String> withoutActivationVariables(Map<String, String> environment) {
        Map<String, String> copy = new HashMap<>(environment);
        ACTIVATION_VARIABLES.forEach(copy::remove);
        return copy;
    }

    private static InheritedSocket adopt(int fd, String how, String name, boolean unix) throws ErrnoException {
        // The Listener polls, then accepts: if another process (or a client's reset) took the
        // connection in between, a blocking accept would hang and shutdown could not wake it.
        Posix.fcntl(fd, Posix.F_SETFL, Posix.fcntl(fd, Posix.F_GETFL, 0) | Posix.O_NONBLOCK);
        parkStdioAwayFrom(fd);
        return new InheritedSocket(fd, how, name, unix, false);
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

    /**
     * Checks that {@code fd} is a listening stream socket we can serve; true when it is a
     * UNIX-domain one, false for TCP over IPv4 or IPv6.
     */
    private static boolean requireStreamListener(int fd, String what) {
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
        if (type != Posix.SOCK_STREAM || (domain != Posix.AF_INET && domain != Posix.AF_INET6 && domain != Posix.AF_UNIX)) {
            throw new IllegalArgumentException(what + " is a listening socket, but not a stream socket over IPv4, IPv6"
                    + " or UNIX (family " + domain + ", type " + type + ")");
        }
        return domain == Posix.AF_UNIX;
    }
}
