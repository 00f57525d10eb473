package forkserver.supervisor;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A connection the listener accepted and that no child has yet: the supervisor's descriptor for
 * it (close-on-exec) and both ends' addresses. Whoever holds one must {@link #close()} it, or the
 * client never sees end of file after its child exits; closing twice is harmless, so that a
 * failure path can always close what it was given.
 */
final class Accepted {

    private final int fd;
    private final InetSocketAddress remote;
    private final InetSocketAddress local;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final long acceptedNanos = System.nanoTime(); // for the spawn-duration metric

    Accepted(int fd, InetSocketAddress remote, InetSocketAddress local) {
        this.fd = fd;
        this.remote = remote;
        this.local = local;
    }

    /** When it was accepted ({@link System#nanoTime()}). */
    long acceptedNanos() {
        return acceptedNanos;
    }

    int fd() {
        return fd;
    }

    InetSocketAddress remote() {
        return remote;
    }

    InetSocketAddress local() {
        return local;
    }

    /** Closes the supervisor's copy of the socket, once; a child's copy stays open. */
    void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            Posix.close(fd);
        } catch (ErrnoException e) {
            throw new Failures.Broken("closing accepted socket " + fd, e); // EBADF: a descriptor mixed up
        }
    }

    @Override
    public String toString() {
        return "connection fd " + fd + " from " + HostPort.format(remote);
    }
}
