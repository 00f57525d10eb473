package forkserver.supervisor.listen;

import forkserver.posix.ErrnoException;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.Poller;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Every socket the supervisor listens on (TCP, UNIX-domain, bound or from an activator), and the
 * one wait on all of them: a {@link Poller} over the listening descriptors and a wake-up, so
 * that {@link #wakeUp()} (on shutdown) returns the acceptor at once without touching a socket,
 * which may belong to an activator. What they accept shares one admission: a connection is a
 * connection, whichever socket it came through.
 *
 * <p>Fairness: {@link #accept()} tries the sockets in turn, starting after the one that gave the
 * last connection, so a flood on one cannot starve another's backlog.
 */
public final class Listeners implements Closeable {

    private final List<Listener> all;
    private final Poller poller; // the listening sockets and the wake-up: what accept() waits for
    private volatile boolean woken;
    private int next; // the acceptor's: the listener accept() tries first

    private Listeners(List<Listener> all) throws ErrnoException {
        this.all = List.copyOf(all);
        this.poller = new Poller();
        try {
            for (Listener listener : all) {
                poller.add(listener.fd());
            }
        } catch (ErrnoException e) {
            poller.close();
            throw e;
        }
    }

    /**
     * Binds and listens on each of {@code addresses}, in order. When one fails, those bound
     * already are closed (their files removed) and the failure names the address.
     */
    public static Listeners bind(List<ListenAddress> addresses, int backlog, boolean reusePort) throws IOException {
        List<Listener> bound = new ArrayList<>();
        try {
            for (ListenAddress address : addresses) {
                try {
                    bound.add(Listener.bind(address, backlog, reusePort));
                } catch (IOException e) {
                    throw new Unavailable(address.text(), e);
                }
            }
            return new Listeners(bound);
        } catch (IOException | RuntimeException e) {
            closeAll(bound);
            throw e;
        }
    }

    /** Accepts on the sockets an activator passed. */
    public static Listeners inherit(List<InheritedSocket> sockets) throws IOException {
        List<Listener> inherited = new ArrayList<>();
        try {
            for (InheritedSocket socket : sockets) {
                inherited.add(Listener.inherit(socket));
            }
            return new Listeners(inherited);
        } catch (IOException | RuntimeException e) {
            closeAll(inherited);
            throw e;
        }
    }

    /** One listener could not be had: {@link #where()} names it, the message says why (one line). */
    public static final class Unavailable extends IOException {

        private static final long serialVersionUID = 1L;
        private final String where;

        Unavailable(String where, IOException cause) {
            super(cause instanceof ErrnoException errno ? errno.reason() : cause.getMessage(), cause);
            this.where = where;
        }

        public String where() {
            return where;
        }
    }

    /** Every listener, in the order given: their descriptors, names and addresses (the log, a successor). */
    public List<Listener> all() {
        return all;
    }

    /**
     * Waits for the next connection on any of the sockets. Returns null once {@link #wakeUp()}
     * was called.
     *
     * @throws ErrnoException as {@link Listener#acceptNow()}: for want of a resource
     *     ({@link #isShortage}), or for good
     */
    public Accepted accept() throws ErrnoException {
        int count = all.size();
        while (!woken) {
            // accept first, poll only when nothing waits: under load the next connection is
            // usually queued already, and the poll would be a system call for nothing.
            for (int i = 0; i < count; i++) {
                int index = (next + i) % count;
                Accepted connection = all.get(index).acceptNow();
                if (connection != null) {
                    next = (index + 1) % count;
                    return connection;
                }
            }
            poller.await(Poller.NO_DEADLINE); // EAGAIN on all: wait for a connection, or the wake-up
        }
        return null;
    }

    /** accept(2)'s failures for want of a resource: they pass, and the connection waits in the backlog. */
    public static boolean isShortage(ErrnoException e) {
        return Listener.isShortage(e);
    }

    /** Makes {@link #accept()} return null, now or at its next call. Safe from any thread. */
    public void wakeUp() {
        woken = true;
        poller.wakeUp();
    }

    /**
     * An upgrade's successor holds every socket now: their socket files are its to remove at its
     * stop, not ours at {@link #close()} (they are the same inodes).
     */
    public void handedOver() {
        for (Listener listener : all) {
            listener.handedOver();
        }
    }

    /** On stop: the sockets we bound are closed now ({@link Listener#stopListening()}). */
    public void stopListening() throws ErrnoException {
        for (Listener listener : all) {
            listener.stopListening();
        }
    }

    /** Closes every listener (removing the socket files we made) and the poller. */
    @Override
    public void close() throws IOException {
        IOException first = closeAll(all);
        poller.close();
        if (first != null) {
            throw first;
        }
    }

    private static IOException closeAll(List<Listener> listeners) {
        IOException first = null;
        for (Listener listener : listeners) {
            try {
                listener.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        return first;
    }
}
