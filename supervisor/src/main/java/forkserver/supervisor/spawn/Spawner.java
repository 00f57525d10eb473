package forkserver.supervisor.spawn;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.base.Failures;
import forkserver.supervisor.base.Failures.SpawnFailed;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.log.ChildStderr;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Starts one child per connection with the connection on its fd 0 (and fd 1 in
 * {@link StdioMode#INOUT}), through {@link ProcessBuilder}; and spare workers, alike but with
 * their end of a private socketpair on fd 0 ({@code Spares}).
 *
 * <p>The JDK cannot give a child an arbitrary socket, but {@link Redirect#INHERIT} gives it the
 * supervisor's own fd 0 and 1. So, under {@link #stdioLock}: {@code dup2} the connection onto fd
 * 0 (and 1), {@code start()} (which returns only after the child has exec'd, so it has its
 * copies), and point fd 0 back at /dev/null and fd 1 back at the supervisor's stdout. Between
 * spawns the supervisor's fd 0 is /dev/null, so nothing in it ever reads a client's bytes.
 *
 * <p>A child holds nothing else of ours: our descriptors are close-on-exec, and the JDK closes
 * every descriptor above 2 in the child before exec anyway.
 *
 * <p>Every failure to start comes out as a {@link SpawnFailed} with the errno's name, and leaves
 * nothing behind. The hard one: when the JDK cannot start the thread that would reap the new
 * child (a user's or cgroup's task limit counts threads too), {@code start()} throws
 * {@link OutOfMemoryError} after the child has already exec'd, and no {@link Process} comes
 * back. That child, found among this thread's children, is {@link ChildProcess#adopted()}: it
 * serves its connection and the {@link Reaper} reaps it. Its pid is remembered, because the JDK
 * keeps a record for it that makes it never reap a later process with the same pid (the Reaper
 * does then).
 */
public final class Spawner {

    /** Tells forkserver's worker it is a spare: its fd 0 is a socketpair, not yet a client. */
    public static final String SPARE_VARIABLE = "FORKSERVER_SPARE";
    /** Descriptors kept for the JDK's start: its two pipes to the spawn helper, and room to spare. */
    static final int RESERVED_DESCRIPTORS = 6;

    private final StdioMode stdio;
    private final int userStepAt; // where in a command ChildUsers.step goes
    // One builder per command, kept (under stdioLock): building one per child copied the whole
    // environment of this JVM each time, only to clear it. Its environment is the children's
    // base; a start lays the connection's variables over it and takes them back off after.
    private final ProcessBuilder spawnBuilder;
    private final ProcessBuilder spareBuilder; // null without --spares
    private final ChildStderr stderr;
    // Each live child's stderr pipe, until its exit: then closed soon even if its leftovers hold it.
    private final java.util.Map<ChildProcess, ChildStderr.Stream> stderrOf = new java.util.concurrent.ConcurrentHashMap<>();
    private final int devNull;
    private final int savedStdout;
    // Guards the supervisor's fds 0 and 1 while they point at a client, and makes a start and the
    // bookkeeping of its pid (live) one step: one child starts at a time.
    private final Object stdioLock = new Object();
    // Pids of the children started here that have not exited: any other child of ours is an orphan.
    private final Set<Long> live = ConcurrentHashMap.newKeySet();
    // Pids whose JDK record was left behind by a failed start: the JDK never reaps them again.
    private final Set<Long> lost = ConcurrentHashMap.newKeySet();
    // Descriptors kept free for the JDK's start (copies of /dev/null, -1 where none); guarded by stdioLock.
    private final int[] reserve = new int[RESERVED_DESCRIPTORS];

    /**
     * Parks the supervisor's fd 0 on /dev/null and keeps a copy of its stdout. Call after the
     * listening socket has been moved off fd 0, if it was there.
     */
    public Spawner(List<String> command, List<String> spareCommand, StdioMode stdio, Map<String, String> baseEnvironment,
            ChildStderr stderr) throws ErrnoException {
        this(0, command, spareCommand, stdio, baseEnvironment, stderr);
    }

    /**
     * As above; a child given a uid ({@link #spawn(Accepted, Map, int)}) takes it after the first
     * {@code userStepAt} words of its command (a step that must still run as the supervisor's
     * user: joining its box) and before the rest.
     */
    public Spawner(int userStepAt, List<String> command, List<String> spareCommand, StdioMode stdio,
                   Map<String, String> baseEnvironment, ChildStderr stderr) throws ErrnoException {
        this.userStepAt = userStepAt;
        this.stdio = stdio;
        // Only a spare is told it is one: a worker spawned for a client, told so by an inherited
        // variable, would wait for a hand-off on its client's socket.
        Map<String, String> base = new HashMap<>(baseEnvironment);
        base.remove(SPARE_VARIABLE);
        this.spawnBuilder = builder(command, base, stdio == StdioMode.INOUT);
        base.put(SPARE_VARIABLE, "1");
        this.spareBuilder = spareCommand.isEmpty() ? null : builder(spareCommand, base, false);
        this.stderr = stderr;
        this.devNull = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
        this.savedStdout = Posix.dupCloexec(1, 3);
        Posix.dup2(devNull, 0);
        Arrays.fill(reserve, -1);
        refillReserve();
    }

    /**
     * Starts the command for {@code connection}, with {@code variables} (its
     * {@link #connectionEnvironment}) added to its environment. The caller still owns (and must
     * close) the connection's descriptor; the child has its own copy.
     */
    public ChildProcess spawn(Accepted connection, Map<String, String> variables) throws SpawnFailed {
        return spawn(connection, variables, NO_USER);
    }

    /** As above, the child running as {@code uid} and gid {@code uid} ({@link ChildUsers}; {@link #NO_USER}: ours). */
    public ChildProcess spawn(Accepted connection, Map<String, String> variables, int uid) throws SpawnFailed {
        return start(spawnBuilder, variables, uid, connection.fd(), stdio == StdioMode.INOUT);
    }

    /** No uid of its own: a child runs as the supervisor's user. */
    public static final int NO_USER = -1;

    /** A spare just started: its process, and our end of their private socketpair (close-on-exec). */
    public record SpareStart(ChildProcess process, int channel) {
    }

    /**
     * Starts a spare worker: the spare command with {@code FORKSERVER_SPARE=1}, and on its fd 0
     * its end of a private {@code socketpair(AF_UNIX, SOCK_SEQPACKET)}, over which it will be
     * handed its connection; the other end is returned. The pair is made under the same lock as
     * the start, so that it cannot take the descriptors kept for the JDK ({@link #reserve}).
     * {@code variables} (its box's, if any) are added to its environment.
     */
    public SpareStart spawnSpare(Map<String, String> variables) throws SpawnFailed {
        return spawnSpare(variables, NO_USER);
    }

    /** As above, the spare running as {@code uid} from its start ({@link #NO_USER}: as ours). */
    public SpareStart spawnSpare(Map<String, String> variables, int uid) throws SpawnFailed {
        synchronized (stdioLock) {
            int[] pair;
            try {
                pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
            } catch (ErrnoException e) {
                throw new SpawnFailed(e.name(), e.getMessage());
            }
            try {
                return new SpareStart(start(spareBuilder, variables, uid, pair[1], false), pair[0]);
            } catch (SpawnFailed | RuntimeException | Error e) {
                closeOrBreak(pair[0]);
                throw e;
            } finally {
                closeOrBreak(pair[1]); // the spare has its copy on fd 0
            }
        }
    }

    /**
     * Starts the supervisor's successor at an upgrade: {@code argv} with {@code environment}, and
     * on its fd 0 {@code channel}, our end of which the caller keeps ({@code Handover}). Its
     * stdout and stderr are ours, not a pipe of ours: its log goes on to the same place once we
     * are gone. It is no connection's child (the registry never sees it), but its pid counts among
     * ours, so that it is never taken for an orphan.
     */
    public Process spawnSuccessor(List<String> argv, Map<String, String> environment, int channel) throws SpawnFailed {
        ProcessBuilder builder = new ProcessBuilder(List.copyOf(argv))
                .redirectInput(Redirect.INHERIT).redirectOutput(Redirect.INHERIT).redirectError(Redirect.INHERIT);
        builder.environment().clear();
        builder.environment().putAll(environment);
        synchronized (stdioLock) {
            if (!refillReserve()) {
                throw new SpawnFailed("EMFILE", "too few descriptors left to start a child");
            }
            releaseReserve();
            Process process;
            try {
                Posix.dup2(channel, 0);
                process = builder.start();
            } catch (ErrnoException e) {
                throw new SpawnFailed(e.name(), e.getMessage());
            } catch (IOException e) {
                throw Failures.spawnFailed(e);
            } finally {
                restoreStdio(false);
                refillReserve();
            }
            long pid = process.pid();
            live.add(pid);
            process.onExit().thenRun(() -> live.remove(pid));
            return process;
        }
    }

    /**
     * The variables a child learns about its connection: the admission's (a rule's, TCPCONNNUM)
     * and the connection's own facts, last, so that no rule can disguise them. An on-demand child
     * finds them in its environment, a spare in its hand-off message.
     */
    public static Map<String, String> connectionEnvironment(Accepted connection, Map<String, String> admitted) {
        Map<String, String> variables = new HashMap<>(admitted);
        variables.putAll(ConnectionEnvironment.of(connection));
        return variables;
    }

    /**
     * A builder for {@code argv} with {@code environment}: fd 0 inherited (where each start puts
     * its socket); fd 1 the connection too with {@code alsoFd1} (--stdio inout), else /dev/null,
     * never our stdout (a program that echoes would send the client's bytes to the journal).
     */
    private static ProcessBuilder builder(List<String> argv, Map<String, String> environment, boolean alsoFd1) {
        ProcessBuilder builder = new ProcessBuilder(List.copyOf(argv))
                .redirectInput(Redirect.INHERIT)
                .redirectOutput(alsoFd1 ? Redirect.INHERIT : Redirect.DISCARD);
        builder.environment().clear();
        builder.environment().putAll(environment);
        return builder;
    }

    private ChildProcess start(ProcessBuilder builder, Map<String, String> connectionVariables, int uid, int fd0,
                               boolean alsoFd1) throws SpawnFailed {
        synchronized (stdioLock) {
            // The builder's command is the base; with a uid, this start's own (a few words more).
            List<String> command = builder.command();
            if (uid != NO_USER) {
                List<String> own = new java.util.ArrayList<>(command.subList(0, userStepAt));
                own.addAll(ChildUsers.step(uid, command.subList(userStepAt, command.size())));
                builder.command(own);
            }
            Map<String, String> environment = builder.environment();
            Map<String, String> displaced = new HashMap<>();
            connectionVariables.forEach((name, value) -> {
                String before = environment.put(name, value);
                if (before != null) {
                    displaced.put(name, before);
                }
            });
            try {
                return startUnderLock(builder, fd0, alsoFd1);
            } finally {
                // Back to the base for the next start: the connection's variables off, any base
                // value they displaced back on.
                connectionVariables.keySet().forEach(environment::remove);
                environment.putAll(displaced);
                builder.command(command);
            }
        }
    }

    /** The start itself; under stdioLock, with the builder's environment made for this child. */
    private ChildProcess startUnderLock(ProcessBuilder builder, int fd0, boolean alsoFd1) throws SpawnFailed {
        if (!refillReserve()) {
            throw new SpawnFailed("EMFILE", "too few descriptors left to start a child");
        }
        // fd 2: a pipe of its own, read by ChildStderr. The JDK opens the write end again
        // through /proc (a blocking one for the child: ours is not), so our own fd 2 is never
        // touched: no log line of another thread can land in a child's pipe during the start.
        // Made before the reserve is given up, so that the JDK's descriptors stay free; out of
        // descriptors, the child is served with /dev/null as stderr (ChildStderr says so).
        int[] errorPipe = stderr.pipe();
        builder.redirectError(errorPipe == null ? Redirect.DISCARD
                : Redirect.appendTo(new java.io.File("/proc/self/fd/" + errorPipe[1])));
        releaseReserve();
        boolean watched = false;
        try {
            Process process = null;
            ChildProcess child = null;
            try {
                Posix.dup2(fd0, 0);
                if (alsoFd1) {
                    Posix.dup2(fd0, 1);
                }
                process = builder.start();
            } catch (ErrnoException e) {
                throw new SpawnFailed(e.name(), e.getMessage());
            } catch (IOException e) {
                throw Failures.spawnFailed(e);
            } catch (OutOfMemoryError e) {
                if (!Failures.isNoThread(e)) {
                    throw e;
                }
                child = adoptOrphan();
            } finally {
                restoreStdio(alsoFd1);
                if (errorPipe != null) {
                    closeOrBreak(errorPipe[1]); // the child has its own
                }
                refillReserve();
            }
            if (child == null) {
                child = adopt(process);
            }
            if (errorPipe != null) {
                stderrOf.put(child, stderr.watch(errorPipe[0], child.pid()));
            }
            watched = true;
            return child;
        } finally {
            if (!watched && errorPipe != null) {
                closeOrBreak(errorPipe[0]); // no child, or one that could not be kept
            }
        }
    }

    /**
     * Takes back the descriptors kept for the JDK; false when the process has fewer free. The
     * JDK's start needs a few (two pipes to talk to its spawn helper), and when it runs out
     * halfway it leaks those it had made (JDK 25: a failed pipe(2) after another leaves the first
     * open). Kept free here and given up just for the start, they are always there; when they
     * cannot all be taken back, no start is tried.
     */
    private boolean refillReserve() {
        for (int i = 0; i < reserve.length; i++) {
            if (reserve[i] < 0) {
                try {
                    reserve[i] = Posix.dupCloexec(devNull, 3);
                } catch (ErrnoException e) {
                    return false;
                }
            }
        }
        return true;
    }

    private void releaseReserve() {
        for (int i = 0; i < reserve.length; i++) {
            closeOrBreak(reserve[i]);
            reserve[i] = -1;
        }
    }

    private static void closeOrBreak(int fd) {
        Failures.closeOwn(fd, "a descriptor of a child's start");
    }

    /** Points fds 0 and 1 back at /dev/null and our stdout; if that fails, no spawn is safe any more. */
    private void restoreStdio(boolean alsoFd1) {
        try {
            Posix.dup2(devNull, 0);
            if (alsoFd1) {
                Posix.dup2(savedStdout, 1);
            }
        } catch (ErrnoException e) {
            throw new Failures.Broken("fd 0 or 1 could not be taken back from a client", e);
        }
    }

    /** The bookkeeping of a started child: its pidfd, and its pid among ours. Under the lock. */
    private ChildProcess adopt(Process process) throws SpawnFailed {
        long pid = process.pid();
        boolean jdkReaps = !lost.contains(pid);
        int pidfd;
        try {
            // Its pid cannot be another process's yet: a reaped pid is reused only after the
            // kernel has gone through all the others (pid_max), not within this microsecond.
            pidfd = Posix.pidfdOpen(pid);
        } catch (ErrnoException e) {
            // ESRCH: it has exited and the JDK has reaped it already; EMFILE: no descriptor.
            if (!jdkReaps) {
                // Neither the JDK nor a pidfd could ever tell us it ended.
                killAndReap(pid);
                throw new SpawnFailed(e.name(), "pidfd_open for a child the JDK does not reap: " + e.getMessage());
            }
            pidfd = -1; // the reaper polls this one
        }
        ChildProcess child = new ChildProcess(process, pidfd, jdkReaps);
        watch(child);
        return child;
    }

    private void watch(ChildProcess child) {
        live.add(child.pid());
    }

    /**
     * {@code child} has exited (the registry's exit handler says so): its pid is no longer one
     * of ours, so a child of this JVM with that pid later is an orphan to adopt, not this one.
     */
    public void exited(ChildProcess child) {
        live.remove(child.pid());
        ChildStderr.Stream pipe = stderrOf.remove(child);
        if (pipe != null) {
            stderr.exited(pipe);
        }
    }

    /**
     * After {@code start()} threw for want of a reaper thread: the child it had already started
     * (and that has the connection) is the one child of this thread that we do not know. It is
     * served as any other, watched through a pidfd and reaped by the {@link Reaper}; its pid is
     * remembered, because the JDK keeps a record for it that would make it never reap a later
     * process with the same pid. Should it not be found alone, whatever is unknown is killed and
     * the spawn fails.
     */
    private ChildProcess adoptOrphan() throws SpawnFailed {
        List<Long> ours = ProcessTable.childrenOfThisThread();
        if (ours == null) {
            ours = ProcessTable.read().childrenOf(ProcessHandle.current().pid());
        }
        List<Long> orphans = ours.stream().filter(pid -> !live.contains(pid)).toList();
        lost.addAll(orphans);
        if (orphans.size() == 1) {
            long pid = orphans.getFirst();
            try {
                ChildProcess child = new ChildProcess(pid, Posix.pidfdOpen(pid));
                watch(child);
                return child;
            } catch (ErrnoException e) {
                // No pidfd: nobody could ever tell its end; below.
            }
        }
        orphans.forEach(Spawner::killAndReap);
        throw new SpawnFailed("EAGAIN", "no thread for the child's reaper: the task limit is reached");
    }

    private static void killAndReap(long pid) {
        try {
            // Unreaped, it is still our child, so its pid cannot have been reused.
            Posix.kill(pid, Posix.SIGKILL);
            Posix.reap(pid);
        } catch (ErrnoException e) {
            // ESRCH/ECHILD: gone already.
        }
    }
}
