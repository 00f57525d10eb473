package forkserver.supervisor;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.net.InetSocketAddress;

/**
 * A connection the listener accepted and that no child has yet: the supervisor's descriptor for
 * it (close-on-exec) and both ends' addresses. Whoever holds one must {@link #close()} it, or the
 * client never sees end of file after its child exits.
 *
 * <p>Behind a proxy ({@code --proxy-protocol}) {@code remote} and {@code local} are what the
 * PROXY header said: the real client, and the address it dialled; {@code proxy} is then the
 * connection's own peer, the proxy. Without a header {@code proxy} is null. Everything
 * downstream (admission, the child's variables, the log) reads {@code remote} and {@code local},
 * so it sees the real client either way.
 */
record Accepted(int fd, InetSocketAddress remote, InetSocketAddress local, InetSocketAddress proxy) {

    /** A connection as accepted, no proxy in between (or none known yet). */
    Accepted(int fd, InetSocketAddress remote, InetSocketAddress local) {
        this(fd, remote, local, null);
    }

    /** The same socket, for the client at {@code client} that dialled {@code dialled}, relayed by this peer. */
    Accepted behind(InetSocketAddress client, InetSocketAddress dialled) {
        return new Accepted(fd, client, dialled, remote);
    }

    /** Closes the supervisor's copy of the socket; a child's copy stays open. */
    void close() {
        try {
            Posix.close(fd);
        } catch (ErrnoException e) {
            throw new IllegalStateException("closing accepted socket " + fd, e); // EBADF: a bug
        }
    }
}
