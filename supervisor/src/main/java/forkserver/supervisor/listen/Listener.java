package forkserver.supervisor.listen;

import forkserver.posix.Errno;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.HostPort;
import forkserver.supervisor.base.UnixPeer;

import java.io.Closeable;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;

/**
 * One listening socket, TCP or UNIX-domain, created and accepted on through {@link Posix} so
 * that each accepted connection is a descriptor number the spawner can hand to a child. The
 * supervisor's set of them, and the one wait on all of them, is {@link Listeners}.
 *
 * <p>The socket is non-blocking and close-on-exec; {@link #acceptNow()} never waits.
 */
public final class Listener implements Closeable {

    private static final String BOUND = "bound";

    private final int fd;
    private final InetSocketAddress address; // null for a UNIX-domain socket
    private final String unixPath; // the path or @name of a UNIX-domain socket, else null
    private final String name; // FORKSERVER_LISTENER: the name given, else the address as text
    private final String how;
    // An activator's socket may hold connections queued before we set keepalive on it (accepted
    // sockets take the listener's options when the handshake completes): those get it one by one.
    private boolean keepAliveEach;
    private final boolean bound; // ours to close at stop: bound here, or by the predecessor that handed it over
    private volatile UnixSocketFile file; // the socket file we made, removed at close; else null
    private boolean listeningClosed; // only by the acceptor's thread, once it is done accepting

    private Listener(int fd, InetSocketAddress address, String unixPath, String name, String how, boolean bound,
                     UnixSocketFile file) {
        this.fd = fd;
        this.address = address;
        this.unixPath = unixPath;
        this.name = name != null ? name : unixPath != null ? ListenAddress.UNIX_PREFIX + unixPath
                : HostPort.format(address);
        this.how = how;
        this.bound = bound;
        this.file = file;
    }

    /** Binds and listens on {@code address}, as {@link #bind(InetSocketAddress, int, boolean)} or {@link UnixSocketFile}. */
    static Listener bind(ListenAddress address, int backlog, boolean reusePort) throws IOException {
        return switch (address) {
            case ListenAddress.Tcp tcp -> bind(tcp.address(), tcp.name(), backlog, reusePort);
            case ListenAddress.Unix unix -> bindUnix(unix, backlog);
        };
    }

    /**
     * Binds and listens on {@code address}; port 0 picks a free port. With {@code reusePort}
     * (SO_REUSEPORT) several supervisors may listen on one port and the kernel spreads the
     * connections among them. An IPv6 socket is dual-stack (IPV6_V6ONLY off, whatever the
     * system's default): on {@code [::]} it serves IPv4 clients too.
     */
    public static Listener bind(InetSocketAddress address, int backlog, boolean reusePort) throws IOException {
        return bind(address, null, backlog, reusePort);
    }

    private static Listener bind(InetSocketAddress address, String name, int backlog, boolean reusePort)
            throws IOException {
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
            return new Listener(fd, Posix.getsockname(fd), null, name, BOUND, true, null);
        } catch (IOException e) {
            Posix.close(fd);
            throw e;
        }
    }

    /**
     * A UNIX-domain listener on {@code unix}: its file made by {@link UnixSocketFile} (a stale one
     * replaced, a live one left alone), its mode and owner set between bind(2) and listen(2),
     * when no client can connect yet (connect(2) is refused until the socket listens).
     */
    private static Listener bindUnix(ListenAddress.Unix unix, int backlog) throws IOException {
        int fd = Posix.socket(Posix.AF_UNIX, Posix.SOCK_STREAM | Posix.SOCK_NONBLOCK | Posix.SOCK_CLOEXEC, 0);
        UnixSocketFile file = null;
        try {
            file = UnixSocketFile.bind(fd, unix);
            Posix.listen(fd, backlog);
            return new Listener(fd, null, unix.path(), unix.name(), BOUND, true, file);
        } catch (IOException | RuntimeException e) {
            Posix.close(fd);
            if (file != null) {
                file.remove();
            }
            throw e;
        }
    }

    /**
     * Accepts on the socket an activator passed (systemd, inetd {@code wait}); it is already
     * close-on-exec and non-blocking. {@link #close()} closes our descriptor only: the socket
     * itself stays open, and listening, in the activator.
     */
    public static Listener inherit(InheritedSocket socket) throws ErrnoException {
        if (socket.unix()) {
            String path = Posix.getsocknameUnix(socket.fd());
            // A socket file a predecessor made is ours to remove at stop, as it was its.
            UnixSocketFile file = socket.owned() ? UnixSocketFile.adopt(path) : null;
            return new Listener(socket.fd(), null, path, socket.name(), socket.how(), socket.owned(), file);
        }
        Listener listener = new Listener(socket.fd(), Posix.getsockname(socket.fd()), null, socket.name(), socket.how(),
                socket.owned(), null);
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

    /** How the socket came: {@code bound}, or from an activator ({@link InheritedSocket#how()}). */
    public String how() {
        return how;
    }

    /** The address actually bound (with the chosen port when asked for port 0); null for a UNIX-domain socket. */
    public InetSocketAddress address() {
        return address;
    }

    /** Whether the socket is ours (bound here, or by the predecessor that handed it over): closed at stop. */
    public boolean owned() {
        return bound;
    }

    /**
     * Once a successor holds the socket: its file (the same inode) is the successor's to remove at
     * its stop, not ours at {@link #close()}.
     */
    void handedOver() {
        file = null;
    }

    /** The listening descriptor (close-on-exec, non-blocking), e.g. to hand it to a successor. */
    public int fd() {
        return fd;
    }

    /** Its name: the one given ({@code name=}, systemd's {@code FileDescriptorName=}), else its address as text. */
    public String name() {
        return name;
    }

    /** Its address as the log writes it: {@code 127.0.0.1:9090}, {@code [::1]:9090}, {@code unix:/run/app.sock}. */
    public String text() {
        return unixPath != null ? ListenAddress.UNIX_PREFIX + unixPath : HostPort.format(address);
    }

    /**
     * The next connection waiting on this socket, or null when none is (EAGAIN). A connection
     * that failed before we took it (accept(2)'s network errors, which Linux passes on from the
     * new socket: ECONNABORTED, EPROTO, ENETDOWN, EHOSTUNREACH, ...) costs nothing: the next one
     * is taken at once.
     *
     * @throws ErrnoException when accepting fails for want of a resource ({@link #isShortage}:
     *     EMFILE, ENFILE, ENOBUFS, ENOMEM; the connection waits in the backlog), or for good
     */
    Accepted acceptNow() throws ErrnoException {
        while (true) {
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
                return null;
            }
            try {
                if (unixPath != null) {
                    // The kernel recorded the client's ids at connect(2): what it cannot forge.
                    Posix.PeerCredentials peer = Posix.peerCredentials(socket.fd());
                    return new Accepted(socket.fd(), new UnixPeer(peer.pid(), peer.uid(), peer.gid(), unixPath), name);
                }
                if (keepAliveEach) {
                    keepAlive(socket.fd());
                }
                return new Accepted(socket.fd(), socket.remote(), localOf(socket.fd()), name);
            } catch (ErrnoException e) {
                Posix.close(socket.fd()); // the client reset before we looked: drop it
            }
        }
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

    /**
     * Closes our descriptor (if {@link #stopListening()} did not), and removes the socket file we
     * made, if it is still ours: a stopped supervisor leaves no file for clients to dial in vain.
     */
    @Override
    public void close() throws IOException {
        if (!listeningClosed) {
            listeningClosed = true;
            Posix.close(fd);
        }
        if (file != null) {
            file.remove();
        }
    }
}
