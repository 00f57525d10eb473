package forkserver.supervisor.spawn;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.base.Failures;
import forkserver.supervisor.spawn.Spawner;

import java.util.concurrent.CompletableFuture;

/**
 * A process the supervisor started (a connection's child, or a spare): the JDK's {@link Process},
 * a pidfd for it, and its exit, which the {@link Reaper} completes.
 *
 * <p>The pidfd is what makes signals safe: sent through it, a signal can never reach another
 * process that got the same pid after this one was reaped. It is closed, under this object's
 * lock, once the exit is known; signals after that are no-ops.
 *
 * <p>{@link #exit()} completes on the reaper's thread, and callbacks registered with the
 * non-async methods ({@code whenComplete}, {@code thenRun}) run right there. Never
 * {@link Process#onExit()}: its callbacks run through {@code handleAsync}, which on a machine
 * of 2 cores starts a new thread for every exit (CompletableFuture's async pool is then a thread
 * per task) — churn on the happy path, and a lost exit when threads run out.
 */
public final class ChildProcess {

    private final long pid;
    private final Process process; // null for a child the JDK started but lost (see Spawner)
    private final boolean jdkReaps;
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private int pidfd; // -1 once closed, or when none could be opened (the reaper polls then); guarded by this

    /**
     * {@code jdkReaps} false: the JDK's own reaper will never wait for this pid (its bookkeeping
     * for an earlier process of the same pid was left behind, see {@link Spawner}), so the
     * {@link Reaper} reaps it.
     */
    public ChildProcess(Process process, int pidfd, boolean jdkReaps) {
        this.pid = process.pid();
        this.process = process;
        this.pidfd = pidfd;
        this.jdkReaps = jdkReaps;
    }

    /**
     * A child the JDK started but could not give a {@link Process} for (no thread for its
     * reaper): only its pid and a pidfd; the {@link Reaper} reaps it.
     */
    public ChildProcess(long pid, int pidfd) {
        this.pid = pid;
        this.process = null;
        this.pidfd = pidfd;
        this.jdkReaps = false;
    }

    public long pid() {
        return pid;
    }

    /** The JDK's handle, or null for a child it lost. */
    public Process process() {
        return process;
    }

    /** Whether this child came back without a {@link Process}: the JDK's reaper thread could not be started. */
    public boolean adopted() {
        return process == null;
    }

    /** Whether the JDK reaps this process (normally true). */
    boolean jdkReaps() {
        return jdkReaps;
    }

    /** The exit value (a status, or 128 + the signal, as the JDK and a shell say it), once it exited. */
    public CompletableFuture<Integer> exit() {
        return exit;
    }

    public boolean hasExited() {
        return exit.isDone();
    }

    synchronized int pidfd() {
        return pidfd;
    }

    /**
     * SIGTERM, or SIGKILL with {@code force}, unless it has exited already. Returns false when
     * there was nothing left to signal.
     */
    public synchronized boolean signal(boolean force) {
        if (exit.isDone()) {
            return false;
        }
        if (pidfd < 0) {
            // No pidfd (none could be opened; only for a child the JDK reaps, so process is
            // there): the JDK's destroy checks the process's start time before it signals, so a
            // reused pid is safe there too.
            if (force) {
                process.destroyForcibly();
            } else {
                process.destroy();
            }
            return true;
        }
        try {
            return Posix.pidfdSignal(pidfd, force ? Posix.SIGKILL : Posix.SIGTERM);
        } catch (ErrnoException e) {
            throw new Failures.Broken("signalling child " + pid() + " through its pidfd: " + e.getMessage(), e);
        }
    }

    /** The reaper's part: the exit is known; closes the pidfd, then tells whoever waits. */
    void exited(int exitValue) {
        synchronized (this) {
            closePidfd();
        }
        exit.complete(exitValue);
    }

    private void closePidfd() {
        if (pidfd >= 0) {
            try {
                Failures.closeOwn(pidfd, "the pidfd of child " + pid());
            } finally {
                pidfd = -1;
            }
        }
    }

    @Override
    public String toString() {
        return "child " + pid();
    }
}
