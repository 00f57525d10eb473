package forkserver.supervisor.spawn;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The one place every child's exit is noticed, as tcpserver has its SIGCHLD loop: one thread,
 * {@code forkserver-reaper}, waits in {@code epoll} on the pidfd of every running child (and
 * spare) and completes its {@link ChildProcess#exit()}. No thread per exit, none per child
 * beyond the JDK's own reaper, so an exit is never lost for want of a thread.
 *
 * <p>The JDK still reaps its children itself (its reaper thread per process waits in
 * {@code waitpid}); a pidfd turns readable when the process has exited, and the JDK has the
 * exit value a moment later. For a pid the JDK lost track of ({@link ChildProcess#jdkReaps()}
 * false) this thread reaps it with {@code waitid}. A child without a pidfd (none could be
 * opened: out of descriptors) is polled every {@link #POLL_INTERVAL} instead.
 */
public final class Reaper {

    /** How often children without a pidfd are looked at. */
    static final Duration POLL_INTERVAL = Duration.ofMillis(50);
    /** How long the JDK may take to reap a child whose pidfd says it exited; then we reap it. */
    static final Duration JDK_REAP_GRACE = Duration.ofSeconds(1);
    private static final int MAX_EVENTS = 64;

    private final int epoll;
    private final int wakeRead;
    private final int wakeWrite;
    private final Map<Integer, ChildProcess> byPidfd = new ConcurrentHashMap<>();
    private final Set<ChildProcess> polled = ConcurrentHashMap.newKeySet();
    private final Thread thread;

    public Reaper() throws ErrnoException {
        this.epoll = Posix.epollCreate();
        int[] pipe = Posix.pipe();
        this.wakeRead = pipe[0];
        this.wakeWrite = pipe[1];
        Posix.epollAdd(epoll, wakeRead);
        this.thread = Thread.ofPlatform().daemon().name("forkserver-reaper").unstarted(this::run);
        thread.start();
    }

    /** From now on, {@code child}'s exit completes its {@link ChildProcess#exit()}. */
    public void watch(ChildProcess child) {
        int pidfd = child.pidfd();
        if (pidfd >= 0) {
            byPidfd.put(pidfd, child);
            try {
                Posix.epollAdd(epoll, pidfd);
                return;
            } catch (ErrnoException e) {
                byPidfd.remove(pidfd); // ENOMEM in the kernel: poll this one instead
            }
        }
        polled.add(child);
        wake();
    }

    private void run() {
        while (true) {
            int[] ready;
            try {
                ready = Posix.epollWait(epoll, MAX_EVENTS, polled.isEmpty() ? -1 : (int) POLL_INTERVAL.toMillis());
            } catch (ErrnoException e) {
                throw new IllegalStateException("the reaper's epoll failed: " + e.getMessage(), e); // fatal
            }
            for (int fd : ready) {
                if (fd == wakeRead) {
                    drainWakeUps();
                    continue;
                }
                ChildProcess child = byPidfd.remove(fd);
                if (child != null) {
                    unwatch(fd);
                    finish(child);
                }
            }
            for (ChildProcess child : polled) { // only children the JDK reaps have no pidfd
                if (!child.process().isAlive()) {
                    polled.remove(child);
                    finish(child);
                }
            }
        }
    }

    private void finish(ChildProcess child) {
        child.exited(exitValue(child));
    }

    /** The child has exited: its value, from the JDK when it reaps the child, else by reaping it here. */
    private static int exitValue(ChildProcess child) {
        Process process = child.process();
        if (child.jdkReaps()) {
            try {
                if (process.waitFor(JDK_REAP_GRACE.toNanos(), TimeUnit.NANOSECONDS)) {
                    return process.exitValue();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int pidfd = child.pidfd();
        try {
            Posix.ChildExit exit = pidfd >= 0 ? Posix.waitExited(pidfd) : null;
            if (exit != null) {
                return exit.exitValue();
            }
        } catch (ErrnoException e) {
            // ECHILD: the JDK reaped it after all, just now.
        }
        if (process == null) {
            return -1; // a lost child that someone else reaped: its status is gone
        }
        try {
            process.waitFor(JDK_REAP_GRACE.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return process.isAlive() ? -1 : process.exitValue();
    }

    private void unwatch(int pidfd) {
        try {
            Posix.epollRemove(epoll, pidfd);
        } catch (ErrnoException e) {
            // Closed already or never added: nothing to remove.
        }
    }

    private void wake() {
        try {
            Posix.writeByte(wakeWrite);
        } catch (ErrnoException e) {
            throw new IllegalStateException(e); // our own pipe: cannot fail but for a bug
        }
    }

    private void drainWakeUps() {
        try {
            Posix.drain(wakeRead);
        } catch (ErrnoException e) {
            throw new IllegalStateException(e);
        }
    }
}
