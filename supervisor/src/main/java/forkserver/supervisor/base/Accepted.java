package forkserver.supervisor.base;


import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A connection the listener accepted and that no child has yet: the supervisor's descriptor for
 * it (close-on-exec) and both ends' addresses. Whoever holds one must {@link #close()} it, or the
 * client never sees end of file after its child exits; closing twice is harmless, so that a
 * failure path can always close what it was given.
 *
 * <p>Behind a proxy ({@code --proxy-protocol}) {@code remote} and {@code local} are what the
 * PROXY header said: the real client, and the address it dialled; {@code proxy} is then the
 * connection's own peer, the proxy. Without a header {@code proxy} is null. Everything
 * downstream (admission, the child's variables, the log) reads {@code remote} and {@code local},
 * so it sees the real client either way.
 *
 * <p>On a UNIX-domain socket there are no addresses: {@code remote} and {@code local} are null,
 * and {@link #unixPeer()} says who connected (its credentials) and to which socket; the texts
 * are then the peer's ids and {@code unix:PATH}. {@link #listener()} names the listener that
 * took it, for the child's {@code FORKSERVER_LISTENER}.
 */
public final class Accepted {

    private final int fd;
    private final InetSocketAddress remote;
    private final InetSocketAddress local;
    private final InetSocketAddress proxy;
    private final AtomicBoolean closed;
    private final long acceptedNanos; // System.nanoTime() at accept, for the spawn-duration metric
    private final String listener;
    private final UnixPeer unixPeer; // null on TCP
    // The addresses as the log, the child's variables and a failure's line write them: formatted
    // once, when first asked (a connection is rejected, spawned or handed to a spare once).
    private String remoteText;
    private String localText;

    /** A connection as accepted, no proxy in between (or none known yet); its listener unnamed (tests). */
    public Accepted(int fd, InetSocketAddress remote, InetSocketAddress local) {
        this(fd, remote, local, null, null);
    }

    /** A TCP connection accepted by the listener named {@code listener}. */
    public Accepted(int fd, InetSocketAddress remote, InetSocketAddress local, String listener) {
        this(fd, remote, local, listener, null);
    }

    /** A UNIX-domain connection from {@code peer}, accepted by the listener named {@code listener}. */
    public Accepted(int fd, UnixPeer peer, String listener) {
        this(fd, null, null, listener, peer);
    }

    private Accepted(int fd, InetSocketAddress remote, InetSocketAddress local, String listener, UnixPeer unixPeer) {
        this(fd, remote, local, null, new AtomicBoolean(), System.nanoTime(), listener, unixPeer);
    }

    private Accepted(int fd, InetSocketAddress remote, InetSocketAddress local, InetSocketAddress proxy,
                     AtomicBoolean closed, long acceptedNanos, String listener, UnixPeer unixPeer) {
        this.fd = fd;
        this.remote = remote;
        this.local = local;
        this.proxy = proxy;
        this.closed = closed;
        this.acceptedNanos = acceptedNanos;
        this.listener = listener;
        this.unixPeer = unixPeer;
    }

    /** The name of the listener that accepted it (its name, else its address), or null (tests). */
    public String listener() {
        return listener;
    }

    /** The client of a UNIX-domain connection, or null on TCP. */
    public UnixPeer unixPeer() {
        return unixPeer;
    }

    /**
     * The same socket, for the client at {@code client} that dialled {@code dialled}, relayed by
     * this peer. Both share one descriptor: closing either closes it, once.
     */
    public Accepted behind(InetSocketAddress client, InetSocketAddress dialled) {
        return new Accepted(fd, client, dialled, remote, closed, acceptedNanos, listener, unixPeer);
    }

    /** When it was accepted ({@link System#nanoTime()}). */
    public long acceptedNanos() {
        return acceptedNanos;
    }

    public int fd() {
        return fd;
    }

    public InetSocketAddress remote() {
        return remote;
    }

    public InetSocketAddress local() {
        return local;
    }

    /** {@link #remote()} as text: {@code 192.0.2.1:40000}, {@code [2001:db8::1]:40000}. */
    public String remoteText() {
        String text = remoteText;
        if (text == null) {
            remoteText = text = unixPeer != null ? unixPeer.text() : HostPort.format(remote);
        }
        return text;
    }

    /** {@link #local()} as text. */
    public String localText() {
        String text = localText;
        if (text == null) {
            localText = text = unixPeer != null ? "unix:" + unixPeer.path() : HostPort.format(local);
        }
        return text;
    }

    /** {@link #proxy()} as text, or null without a proxy. */
    public String proxyText() {
        return proxy == null ? null : HostPort.format(proxy);
    }

    /** The proxy that relayed the connection ({@code --proxy-protocol}), or null. */
    public InetSocketAddress proxy() {
        return proxy;
    }

    /** Closes the supervisor's copy of the socket, once; a child's copy stays open. */
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Failures.closeOwn(fd, "an accepted socket");
    }

    @Override
    public String toString() {
        return "connection fd " + fd + " from " + (remote == null && unixPeer == null ? "?" : remoteText());
    }
}
