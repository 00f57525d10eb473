package forkserver.supervisor.spawn;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.base.Poller;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Where every child's exit is noticed, as tcpserver has its SIGCHLD loop: one thread,
 * {@code forkserver-reaper}, waits in {@code epoll} on the pidfd of every running child (and
 * spare), completes its {@link ChildProcess#exit()} and hands it to the one exit handler it was
 * made with (the registry's). No thread per exit, none per child beyond the JDK's own reaper, so
 * an exit is never lost for want of a thread.
 *
 * <p>The JDK still reaps its children itself (its reaper thread per process waits in
 * {@code waitpid}); a pidfd turns readable when the process has exited, and the JDK has the
 * exit value a moment later. That moment is not waited out on this thread: the child is looked
 * at again every {@link #JDK_REAP_RETRY} while other exits go on being handled, and after
 * {@link #JDK_REAP_GRACE} it is reaped here. For a pid the JDK lost track of
 * ({@link ChildProcess#jdkReaps()} false) this thread reaps it with {@code waitid} at once. A
 * child without a pidfd (none could be opened: out of descriptors) is polled every
 * {@link #POLL_INTERVAL} instead.
 */
public final class Reaper {

    /** How often children without a pidfd are looked at. */
    static final Duration POLL_INTERVAL = Duration.ofMillis(50);
    /** How long the JDK may take to reap a child whose pidfd says it exited; then we reap it. */
    static final Duration JDK_REAP_GRACE = Duration.ofSeconds(1);
    /** How often an exited child the JDK has not reaped yet is looked at again. */
    static final Duration JDK_REAP_RETRY = Duration.ofMillis(1);

    /** An exited child whose exit value the JDK has not given yet; this thread's only. */
    private record Reaping(ChildProcess child, long deadline) {
    }

    private final Consumer<ChildProcess> exits;
    private final Poller poller;
    private final Map<Integer, ChildProcess> byPidfd = new ConcurrentHashMap<>();
    private final Set<ChildProcess> polled = ConcurrentHashMap.newKeySet();
    private final List<Reaping> reaping = new ArrayList<>();
    private final Thread thread;

    /** {@code exits} is told of each watched child's exit, once, on this reaper's thread. */
    public Reaper(Consumer<ChildProcess> exits) throws ErrnoException {
        this.exits = exits;
        this.poller = new Poller();
        this.thread = Thread.ofPlatform().daemon().name("forkserver-reaper").unstarted(this::run);
        thread.start();
    }

    /** From now on, {@code child}'s exit completes its {@link ChildProcess#exit()} and goes to the handler. */
    public void watch(ChildProcess child) {
        int pidfd = child.pidfd();
        if (pidfd >= 0) {
            byPidfd.put(pidfd, child);
            try {
                poller.add(pidfd);
                return;
            } catch (ErrnoException e) {
                byPidfd.remove(pidfd); // ENOMEM in the kernel: poll this one instead
            }
        }
        polled.add(child);
        poller.wakeUp();
    }

    private void run() {
        while (true) {
            long deadline = !reaping.isEmpty() ? System.nanoTime() + JDK_REAP_RETRY.toNanos()
                    : !polled.isEmpty() ? System.nanoTime() + POLL_INTERVAL.toNanos() : Poller.NO_DEADLINE;
            int[] ready = poller.await(deadline);
            long now = System.nanoTime();
            for (int fd : ready) {
                ChildProcess child = byPidfd.remove(fd);
                if (child != null) {
                    poller.remove(fd);
                    Integer value = exitValue(child, false);
                    if (value != null) {
                        finish(child, value);
                    } else {
                        reaping.add(new Reaping(child, now + JDK_REAP_GRACE.toNanos()));
                    }
                }
            }
            for (Iterator<Reaping> it = reaping.iterator(); it.hasNext(); ) {
                Reaping late = it.next();
                Integer value = exitValue(late.child(), now - late.deadline() >= 0);
                if (value != null) {
                    it.remove();
                    finish(late.child(), value);
                }
            }
            for (ChildProcess child : polled) { // only children the JDK reaps have no pidfd
                if (!child.process().isAlive()) {
                    polled.remove(child);
                    finish(child, child.process().exitValue());
                }
            }
        }
    }

    private void finish(ChildProcess child, int exitValue) {
        child.exited(exitValue);
        exits.accept(child);
    }

    /**
     * The exited child's value: from the JDK when it reaps the child, else by reaping it here;
     * null while the JDK has not yet reaped it and {@code last} is false.
     */
    private static Integer exitValue(ChildProcess child, boolean last) {
        Process process = child.process();
        if (child.jdkReaps()) {
            if (!process.isAlive()) {
                return process.exitValue();
            }
            if (!last) {
                return null;
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
        return process.isAlive() ? -1 : process.exitValue();
    }
}
