package forkserver.supervisor.listen;

import forkserver.posix.Errno;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.HostPort;
import forkserver.supervisor.base.Poller;

import java.io.Closeable;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;

/**
 * The listening socket, created and accepted on through {@link Posix} so that each accepted
 * connection is a descriptor number the spawner can hand to a child.
 *
 * <p>The socket is non-blocking and close-on-exec; {@link #accept()} waits in {@code poll} on it
 * and on a private wake-up pipe, so that {@link #wakeUp()} (on shutdown) returns the acceptor at
 * once without touching the socket itself, which may belong to an activator.
 */
public final class Listener implements Closeable {

    static final String BOUND = "bound";

    private final int fd;
    private final InetSocketAddress address;
    private final String how;
    // An activator's socket may hold connections queued before we set keepalive on it (accepted
    // sockets take the listener's options when the handshake completes): those get it one by one.
    private boolean keepAliveEach;
    private final Poller poller; // the listening socket and the wake-up: what accept() waits for
    private final boolean bound; // bound here, not passed by an activator
    private volatile boolean woken;
    private boolean listeningClosed; // only by the acceptor's thread, once it is done accepting

    private Listener(int fd, InetSocketAddress address, String how, boolean bound) throws ErrnoException {
        this.fd = fd;
        this.address = address;
        this.how = how;
        this.bound = bound;
        this.poller = new Poller();
        try {
            poller.add(fd);
        } catch (ErrnoException e) {
            poller.close();
            throw e;
        }
    }

    /**
     * Binds and listens on {@code address}; port 0 picks a free port. With {@code reusePort}
     * (SO_REUSEPORT) several supervisors may listen on one port and the kernel spreads the
     * connections among them. An IPv6 socket is dual-stack (IPV6_V6ONLY off, whatever the
     * system's default): on {@code [::]} it serves IPv4 clients too.
     */
    public static Listener bind(InetSocketAddress address, int backlog, boolean reusePort) throws IOException {
        boolean ipv6 = address.getAddress() instanceof Inet6Address;
        int fd = Posix.socket(ipv6 ? Posix.AF_INET6 : Posix.AF_INET,
                Posix.SOCK_STREAM | Posix.SOCK_NONBLOCK | Posix.SOCK_CLOEXEC, 0);
        try {
            // A restarted supervisor must not wait for TIME_WAIT connections of the last one.
            Posix.setsockopt(fd, Posix.SOL_SOCKET, Posix.SO_REUSEADDR, 1);
            if (reusePort) {
                Posix.setsockopt(fd, Posix.SOL_SOCKET, Posix.SO_REUSEPORT, 1);
            }
            if (ipv6) {
                Posix.setsockopt(fd, Posix.IPPROTO_IPV6, Posix.IPV6_V6ONLY, 0);
            }
            keepAlive(fd);
            Posix.bind(fd, address);
            Posix.listen(fd, backlog);
            return new Listener(fd, Posix.getsockname(fd), BOUND, true);
        } catch (IOException e) {
            Posix.close(fd);
            throw e;
        }
    }

    /**
     * Accepts on the socket an activator passed (systemd, inetd {@code wait}); it is already
     * close-on-exec and non-blocking. {@link #close()} closes our descriptor only: the socket
     * itself stays open, and listening, in the activator.
     */
    public static Listener inherit(InheritedSocket socket) throws ErrnoException {
        Listener listener = new Listener(socket.fd(), Posix.getsockname(socket.fd()), socket.how(), socket.owned());
        // An activator that set keepalive itself (systemd's KeepAlive=, KeepAliveTimeSec=) is left as it is.
        if (Posix.getsockopt(socket.fd(), Posix.SOL_SOCKET, Posix.SO_KEEPALIVE) == 0) {
            keepAlive(socket.fd());
            listener.keepAliveEach = true;
        }
        return listener;
    }

    /** Keepalive probes after {@link #KEEPALIVE_IDLE} of silence, every {@link #KEEPALIVE_INTERVAL}, this many. */
    static final int KEEPALIVE_IDLE = 60;
    static final int KEEPALIVE_INTERVAL = 10;
    static final int KEEPALIVE_PROBES = 6;

    /**
     * TCP keepalive on every connection accepted from {@code fd} (accepted sockets inherit the
     * listening socket's options, so this costs no call per connection): a client that vanished
     * without a FIN or RST (a host gone, a NAT that forgot it) is found within about two minutes
     * of silence, its child's read fails and its slot under {@code -c} is free again, instead of
     * being held until the kernel's default of two hours.
     */
    private static void keepAlive(int fd) throws ErrnoException {
        Posix.setsockopt(fd, Posix.SOL_SOCKET, Posix.SO_KEEPALIVE, 1);
        Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_KEEPIDLE, KEEPALIVE_IDLE);
        Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_KEEPINTVL, KEEPALIVE_INTERVAL);
        Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_KEEPCNT, KEEPALIVE_PROBES);
    }

    /** The descriptor, for {@link Handover} alone. */
    int fd() {
        return fd;
    }

    /**
     * What a successor is told this listener is ({@link Handover}): {@code bound} or
     * {@code inherited}, and its address.
     */
    String name() {
        return (bound ? BOUND : "inherited") + " " + HostPort.format(address);
    }

    /** How the socket came: {@code bound}, or from an activator ({@link InheritedSocket#how()}). */
    public String how() {
        return how;
    }

    /** The address actually bound (with the chosen port when asked for port 0). */
    public InetSocketAddress address() {
        return address;
    }

    /**
     * Waits for the next connection. Returns null once {@link #wakeUp()} was called. A
     * connection that failed before we took it (accept(2)'s network errors, which Linux passes
     * on from the new socket: ECONNABORTED, EPROTO, ENETDOWN, EHOSTUNREACH, ...) costs nothing:
     * the next one is taken at once.
     *
     * @throws ErrnoException when accepting fails for want of a resource ({@link #isShortage}:
     *     EMFILE, ENFILE, ENOBUFS, ENOMEM; the connection waits in the backlog), or for good
     */
    public Accepted accept() throws ErrnoException {
        while (!woken) {
            // accept first, poll only when nothing waits: under load the next connection is
            // usually queued already, and the poll would be a system call for nothing.
            Posix.AcceptedSocket socket;
            try {
                socket = Posix.accept(fd);
            } catch (ErrnoException e) {
                if (isThatConnectionsOwn(e)) {
                    continue;
                }
                throw e;
            }
            if (socket == null) {
                poller.await(Poller.NO_DEADLINE); // EAGAIN: wait for a connection, or the wake-up
                continue;
            }
            try {
                if (keepAliveEach) {
                    keepAlive(socket.fd());
                }
                return new Accepted(socket.fd(), socket.remote(), localOf(socket.fd()));
            } catch (ErrnoException e) {
                Posix.close(socket.fd()); // the client reset before we looked: drop it
            }
        }
        return null;
    }

    /**
     * The address a connection was accepted on: the listening socket's own, unless that is a
     * wildcard ({@code 0.0.0.0}, {@code [::]}), when only getsockname knows which of the host's
     * addresses the client dialled.
     */
    private InetSocketAddress localOf(int connection) throws ErrnoException {
        return address.getAddress().isAnyLocalAddress() ? Posix.getsockname(connection) : address;
    }

    /** accept(2)'s failures for want of a resource: they pass, and the connection waits in the backlog. */
    public static boolean isShortage(ErrnoException e) {
        return switch (e.errno()) {
            case Errno.EMFILE, Errno.ENFILE, Errno.ENOBUFS, Errno.ENOMEM -> true;
            default -> false;
        };
    }

    /**
     * accept(2)'s errors that belong to the one connection it was taking, which is gone: the man
     * page asks to treat them like EAGAIN, and EPERM (a firewall rule) likewise.
     */
    static boolean isThatConnectionsOwn(ErrnoException e) {
        return switch (e.errno()) {
            case Errno.ECONNABORTED, Errno.EPROTO, Errno.ENOPROTOOPT, Errno.ENETDOWN, Errno.ENONET,
                 Errno.EHOSTDOWN, Errno.EHOSTUNREACH, Errno.ENETUNREACH, Errno.EOPNOTSUPP, Errno.EPERM,
                 Errno.ETIMEDOUT -> true;
            default -> false;
        };
    }

    /** Makes {@link #accept()} return null, now or at its next call. Safe from any thread. */
    public void wakeUp() {
        woken = true;
        poller.wakeUp();
    }

    /**
     * On stop: a socket we bound ourselves is closed now, so that new clients are refused at once
     * rather than left in a backlog nobody will accept from (those already there get a reset).
     * An activator's socket is not ours to close: it stays open, queued clients and all, for the
     * next supervisor; our descriptor of it goes at {@link #close()}.
     */
    public void stopListening() throws ErrnoException {
        if (bound && !listeningClosed) {
            listeningClosed = true;
            Posix.close(fd);
        }
    }

    @Override
    public void close() throws IOException {
        if (!listeningClosed) {
            listeningClosed = true;
            Posix.close(fd);
        }
        poller.close();
    }
}
