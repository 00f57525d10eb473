package forkserver.supervisor.proxy;

import forkserver.supervisor.base.Reason;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.log.EventLog;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Reads the PROXY header of every connection it is given, on a thread of its own
 * ({@code forkserver-proxy-headers}), never the acceptor's: one {@code poll} watches every
 * connection still waiting for its header, each with its own deadline, so a hundred silent
 * connections cost a hundred entries in a poll set and delay nobody.
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

    /** How long to wait before polling again when poll itself fails (ENOMEM: the kernel is short). */
    private static final Duration POLL_RETRY_PAUSE = Duration.ofMillis(100);
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
    // The reader waits in poll on this pipe too: add() and stop() write a byte to wake it.
    private final int wakeRead;
    private final int wakeWrite;
    private final Thread thread;
    private volatile boolean stopped;
    // The reader thread's own; nobody else touches them.
    private final List<Pending> pending = new ArrayList<>();
    private final byte[] scratch = new byte[ProxyHeader.MAX_LENGTH];
    private int[] fds = new int[16];
    private short[] revents = new short[16];

    ProxyHeaderReader(Duration timeout, Verdicts verdicts) throws ErrnoException {
        this.timeout = timeout;
        this.verdicts = verdicts;
        int[] pipe = Posix.pipe();
        this.wakeRead = pipe[0];
        this.wakeWrite = pipe[1];
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
        wake();
    }

    /**
     * Stops reading; the connections still waiting are closed without a word (as clients still in
     * the backlog are when the supervisor exits). Waits at most {@code timeout} for the thread.
     */
    void stop(Duration wait) {
        stopped = true;
        wake();
        try {
            thread.join(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive()) {
            closeAll(); // anything added after the thread's last look
            try {
                Posix.close(wakeRead);
                Posix.close(wakeWrite);
            } catch (ErrnoException e) {
                throw new IllegalStateException(e); // our own pipe: a bug
            }
        }
    }

    private void run() {
        while (!stopped) {
            for (Pending arrived; (arrived = arrivals.poll()) != null; ) {
                if (read(arrived)) { // most headers are there by the time we look: no poll for them
                    pending.add(arrived);
                }
            }
            int count = pending.size() + 1;
            if (fds.length < count) {
                fds = Arrays.copyOf(fds, 2 * count);
                revents = new short[fds.length];
            }
            fds[0] = wakeRead;
            long nearest = Long.MAX_VALUE;
            for (int i = 0; i < pending.size(); i++) {
                fds[i + 1] = pending.get(i).connection.fd();
                nearest = Math.min(nearest, pending.get(i).deadline);
            }
            long waitMillis = pending.isEmpty() ? -1
                    : Math.min(Integer.MAX_VALUE, Math.max(0, ceilMillis(nearest - System.nanoTime())));
            try {
                if (Posix.poll(fds, count, (int) waitMillis, revents) < 0) {
                    continue; // EINTR
                }
                if (revents[0] != 0) {
                    Posix.drain(wakeRead);
                }
            } catch (ErrnoException e) {
                pause(); // ENOMEM: try again shortly; the deadlines still hold
                continue;
            }
            long now = System.nanoTime();
            List<Pending> still = new ArrayList<>(pending.size());
            for (int i = 0; i < pending.size(); i++) {
                Pending p = pending.get(i);
                boolean waiting = revents[i + 1] == 0 || read(p);
                if (waiting && now - p.deadline >= 0) {
                    verdicts.refused(p.connection, Reason.PROXY_TIMEOUT, "no complete header within "
                            + EventLog.seconds(timeout) + " (" + p.got.length + " bytes of one)");
                    waiting = false;
                }
                if (waiting) {
                    still.add(p);
                }
            }
            pending.clear();
            pending.addAll(still);
        }
        closeAll();
    }

    /**
     * Looks at what the connection has sent and acts on it; true while its header has not ended.
     * Peeks first, so that nothing past the header's end is ever taken off the socket.
     */
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
        verdicts.refused(p.connection, Reason.PROXY_HEADER, detail);
    }

    private void closeAll() {
        for (Pending p : pending) {
            p.connection.close();
        }
        pending.clear();
        for (Pending p; (p = arrivals.poll()) != null; ) {
            p.connection.close();
        }
    }

    private void wake() {
        try {
            Posix.writeByte(wakeWrite);
        } catch (ErrnoException e) {
            throw new IllegalStateException(e); // our own pipe: cannot fail but for a bug
        }
    }

    private static long ceilMillis(long nanos) {
        return nanos <= 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(nanos + 999_999);
    }

    private static void pause() {
        try {
            Thread.sleep(POLL_RETRY_PAUSE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
