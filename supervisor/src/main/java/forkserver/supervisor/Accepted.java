package forkserver.supervisor;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.net.InetSocketAddress;

/**
 * A connection the listener accepted and that no child has yet: the supervisor's descriptor for
 * it (close-on-exec) and both ends' addresses. Whoever holds one must {@link #close()} it, or the
 * client never sees end of file after its child exits.
 */
record Accepted(int fd, InetSocketAddress remote, InetSocketAddress local) {

    /** Closes the supervisor's copy of the socket; a child's copy stays open. */
    void close() {
        try {
            Posix.close(fd);
        } catch (ErrnoException e) {
            throw new IllegalStateException("closing accepted socket " + fd, e); // EBADF: a bug
        }
    }
}
