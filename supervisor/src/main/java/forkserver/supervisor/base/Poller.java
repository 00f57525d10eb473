package forkserver.supervisor.base;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.Closeable;
import java.util.concurrent.TimeUnit;

/**
 * The one way the supervisor's threads wait: readiness of the descriptors {@link #add added}
 * (readable, or closed by the peer), a {@link #wakeUp()} from another thread, and a deadline.
 * Each waiting thread (the acceptor, the reaper, the hand-offs, the PROXY header reader, the
 * children's stderr) owns one and calls {@link #await} in its loop; nothing else of theirs
 * touches {@code epoll} or a wake-up pipe.
 *
 * <p>Descriptors: an {@code epoll} instance and a wake-up pipe, all close-on-exec, the pipe's
 * ends non-blocking (a wake-up into a full pipe is one already pending). {@link #add} and
 * {@link #remove} may be called from any thread; {@link #await} from the owning thread only.
 */
public final class Poller implements Closeable {

    /** No deadline: wait for readiness or a wake-up only. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;
    private static final int MAX_EVENTS = 64;
    private static final int[] NONE = {};

    private final int epoll;
    private final int wakeRead;
    private final int wakeWrite;
    private volatile ErrnoException wakeUpFault; // a fault injected by tests: every wake-up fails with it

    public Poller() throws ErrnoException {
        this.epoll = Posix.epollCreate();
        int[] pipe;
        try {
            pipe = Posix.pipe();
        } catch (ErrnoException e) {
            Posix.close(epoll);
            throw e;
        }
        this.wakeRead = pipe[0];
        this.wakeWrite = pipe[1];
        try {
            Posix.epollAdd(epoll, wakeRead);
        } catch (ErrnoException e) {
            close();
            throw e;
        }
    }

    /** Watches {@code fd} for readability (or hang-up) from the next {@link #await} on. */
    public void add(int fd) throws ErrnoException {
        Posix.epollAdd(epoll, fd);
    }

    /** Stops watching {@code fd}; nothing happens when it was not watched (or is closed already). */
    public void remove(int fd) {
        try {
            Posix.epollRemove(epoll, fd);
        } catch (ErrnoException e) {
            // ENOENT, EBADF: not watched, or closed (which removed it): nothing to remove.
        }
    }

    /** Makes the owner's current or next {@link #await} return; safe from any thread. */
    public void wakeUp() {
        try {
            ErrnoException fault = wakeUpFault;
            if (fault != null) {
                throw fault;
            }
            Posix.writeByte(wakeWrite);
        } catch (ErrnoException e) {
            throw new Failures.Broken("waking a poller: " + e.getMessage(), e); // our own pipe
        }
    }

    /**
     * Waits until a watched descriptor is readable, a {@link #wakeUp()} came, or
     * {@code deadlineNanos} ({@link System#nanoTime()}; {@link #NO_DEADLINE}) passed; returns
     * the readable descriptors (none after a wake-up or the deadline). A wake-up is consumed.
     */
    public int[] await(long deadlineNanos) {
        int timeout = deadlineNanos == NO_DEADLINE ? -1
                : (int) Math.min(Integer.MAX_VALUE,
                        Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime() + 999_999)));
        int[] ready;
        try {
            ready = Posix.epollWait(epoll, MAX_EVENTS, timeout);
        } catch (ErrnoException e) {
            throw new Failures.Broken("epoll_wait: " + e.getMessage(), e); // EBADF, EINVAL: ours, broken
        }
        int woken = -1;
        for (int i = 0; i < ready.length; i++) {
            if (ready[i] == wakeRead) {
                woken = i;
            }
        }
        if (woken < 0) {
            return ready;
        }
        try {
            Posix.drain(wakeRead);
        } catch (ErrnoException e) {
            throw new Failures.Broken("draining a poller's wake-up pipe: " + e.getMessage(), e);
        }
        if (ready.length == 1) {
            return NONE;
        }
        int[] others = new int[ready.length - 1];
        for (int i = 0, j = 0; i < ready.length; i++) {
            if (i != woken) {
                others[j++] = ready[i];
            }
        }
        return others;
    }

    /** Tests: from now on every {@link #wakeUp()} fails with {@code fault}, as a broken pipe would. */
    public void failWakeUps(ErrnoException fault) {
        wakeUpFault = fault;
    }

    @Override
    public void close() {
        Failures.closeOwn(wakeRead, "a poller's wake-up pipe");
        Failures.closeOwn(wakeWrite, "a poller's wake-up pipe");
        Failures.closeOwn(epoll, "a poller's epoll");
    }
}
