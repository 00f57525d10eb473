package forkserver.supervisor.proxy;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.base.Watchlist;
import forkserver.supervisor.base.Reason;
import forkserver.supervisor.log.EventLog;

import java.time.Duration;
import java.util.Arrays;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Reads the PROXY header of every connection it is given, on a thread of its own
 * ({@code forkserver-proxy-headers}), never the acceptor's: one {@link Watchlist} watches every
 * connection still waiting for its header, each with its own deadline, so a hundred silent
 * connections cost a hundred entries in an epoll set and delay nobody.
 *
 * <p><b>Exactly the header, nothing more.</b> The bytes behind the header (a proxy sends the
 * client's first bytes in the same segment) belong to the child. So the reader looks with
 * {@code recv(MSG_PEEK)}, asks {@link ProxyHeader} where the header ends, and only then takes
 * that many bytes off the socket. When the header is not whole yet, every byte seen is part of
 * it ({@link ProxyHeader.NeedMore} promises that), so those are taken off too and kept: the
 * next {@code poll} then wakes for new bytes only, instead of at once for the same ones.
 *
 * <p><b>Bounds.</b> Memory per connection: its {@link Accepted} and deadline, plus the header
 * bytes of a header that came in pieces, at most {@link ProxyHeader#MAX_LENGTH} (a header that
 * came whole, the usual case, keeps nothing). How many connections: whatever the caller gives
 * ({@link ProxyStage} bounds it). Time: each connection gets {@code timeout}, then
 * {@code proxy-timeout}.
 */
final class ProxyHeaderReader {

    /** What became of a connection; called on the reader's thread, so none of them may block. */
    interface Verdicts {
        /**
         * Its header is read and consumed, nothing more: {@code connection} now names the real
         * client (or, for UNKNOWN, still the peer itself) and its {@code proxy} is the peer.
         */
        void complete(Accepted connection);

        /** A v2 LOCAL header, the proxy's health check: no client behind it. */
        void healthCheck(Accepted connection);

        /** No valid header ({@code proxy-header}) or none in time ({@code proxy-timeout}). */
        void refused(Accepted connection, Reason reason, String detail);
    }

    /** No header bytes taken off the socket yet (the usual case: a header comes whole). */
    private static final byte[] NOTHING = new byte[0];

    private static final class Pending {
        final Accepted connection;
        final long deadline;
        byte[] got = NOTHING; // header bytes already taken off the socket (a header that came in pieces)

        Pending(Accepted connection, long deadline) {
            this.connection = connection;
            this.deadline = deadline;
        }
    }

    private final Verdicts verdicts;
    private final Duration timeout;
    private final Queue<Pending> arrivals = new ConcurrentLinkedQueue<>();
    // The reader waits on the pending connections (the reader thread's own), a wake-up (add(),
    // stop()) and the nearest deadline.
    private final Watchlist<Pending> pending;
    private final Thread thread;
    private volatile boolean stopped;
    private final byte[] scratch = new byte[ProxyHeader.MAX_LENGTH];

    ProxyHeaderReader(Duration timeout, Verdicts verdicts) throws ErrnoException {
        this.timeout = timeout;
        this.verdicts = verdicts;
        this.pending = new Watchlist<>();
        this.thread = Thread.ofPlatform().daemon().name("forkserver-proxy-headers").unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /** Reads {@code connection}'s header from now on; its deadline starts now. Safe from any thread. */
    void add(Accepted connection) {
        if (stopped) {
            connection.close();
            return;
        }
        arrivals.add(new Pending(connection, System.nanoTime() + timeout.toNanos()));
        pending.wakeUp();
    }

    /**
     * Stops reading; the connections still waiting are closed without a word (as clients still in
     * the backlog are when the supervisor exits). Waits at most {@code timeout} for the thread.
     */
    void stop(Duration wait) {
        stopped = true;
        pending.wakeUp();
        try {
            thread.join(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive()) {
            closeAll(); // anything added after the thread's last look
            pending.close();
        }
    }

    private void run() {
        while (!stopped) {
            for (Pending arrived; (arrived = arrivals.poll()) != null; ) {
                if (read(arrived)) { // most headers are there by the time we look: no wait for them
                    watch(arrived);
                }
            }
            for (Pending p : pending.await()) {
                read(p); // a verdict, if any, comes after unwatch()
            }
            for (Pending p : pending.expired(System.nanoTime())) {
                unwatch(p);
                verdicts.refused(p.connection, Reason.PROXY_TIMEOUT, "no complete header within "
                        + EventLog.seconds(timeout) + " (" + p.got.length + " bytes of one)");
            }
        }
        closeAll();
    }

    /** Waits for more of {@code p}'s header, until its deadline. */
    private void watch(Pending p) {
        try {
            pending.add(p.connection.fd(), p, p.deadline);
        } catch (ErrnoException e) {
            refuse(p, "its header could not be waited for: " + e.getMessage()); // ENOMEM, ENOSPC in the kernel
        }
    }

    /**
     * No longer waited for. Before its verdict is given, or at once after it while the descriptor
     * is still open (the verdict runs on this thread): once the connection is closed its number
     * may be a new connection's, which must not be confused with it.
     */
    private void unwatch(Pending p) {
        pending.remove(p.connection.fd());
    }

    private boolean read(Pending p) {
        int fd = p.connection.fd();
        int have = p.got.length;
        System.arraycopy(p.got, 0, scratch, 0, have);
        int seen;
        try {
            seen = Posix.receiveNow(fd, scratch, have, scratch.length - have, true);
        } catch (ErrnoException e) {
            refuse(p, "connection failed before its header ended: " + e.reason());
            return false;
        }
        if (seen < 0) {
            return true; // nothing there after all
        }
        if (seen == 0) {
            refuse(p, have == 0 ? "closed before sending a header" : "closed within its header (" + have + " bytes)");
            return false;
        }
        switch (ProxyHeader.parse(scratch, have + seen)) {
            case ProxyHeader.NeedMore needMore -> {
                byte[] got = Arrays.copyOf(scratch, have + seen);
                if (!take(p, seen)) {
                    return false;
                }
                p.got = got;
                return true;
            }
            case ProxyHeader.Invalid invalid -> {
                refuse(p, invalid.reason());
                return false;
            }
            case ProxyHeader.Complete header -> {
                if (!take(p, header.length() - have)) {
                    return false;
                }
                unwatch(p);
                switch (header.command()) {
                    case PROXY -> verdicts.complete(p.connection.behind(header.source(), header.destination()));
                    case UNKNOWN -> verdicts.complete(p.connection.behind(p.connection.remote(), p.connection.local()));
                    case LOCAL -> verdicts.healthCheck(p.connection);
                }
                return false;
            }
        }
    }

    /**
     * Takes exactly {@code count} bytes off the socket, bytes just peeked at: they are queued,
     * and nobody else reads this socket, so recv returns them all.
     */
    private boolean take(Pending p, int count) {
        try {
            int taken = count == 0 ? 0 : Posix.receiveNow(p.connection.fd(), scratch, 0, count, false);
            if (taken == count) {
                return true;
            }
            refuse(p, "took " + taken + " of the header's " + count + " bytes");
        } catch (ErrnoException e) {
            refuse(p, "connection failed within its header: " + e.reason());
        }
        return false;
    }

    private void refuse(Pending p, String detail) {
        unwatch(p);
        verdicts.refused(p.connection, Reason.PROXY_HEADER, detail);
    }

    private void closeAll() {
        for (Pending p : pending.all()) {
            unwatch(p);
            p.connection.close();
        }
        for (Pending p; (p = arrivals.poll()) != null; ) {
            p.connection.close();
        }
    }
}
