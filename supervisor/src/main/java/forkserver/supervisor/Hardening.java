package forkserver.supervisor;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

/**
 * What keeps a child from reaching into the supervisor that started it, or from gaining more than
 * it was given, even when it runs as the supervisor's own user:
 * <ul>
 * <li><b>no new privileges</b> ({@code PR_SET_NO_NEW_PRIVS}): inherited by every child and
 *     everything it executes, so a setuid-root program run from a connection gains nothing;</li>
 * <li><b>not dumpable</b> ({@code PR_SET_DUMPABLE} 0): without CAP_SYS_PTRACE no process may
 *     ptrace the supervisor, take its descriptors with {@code pidfd_getfd} (the listening socket,
 *     a client's connection on its way to a child), or read its memory or
 *     {@code /proc/PID/environ}; no core dump holds a client's bytes.</li>
 * </ul>
 * The JDK's attach mechanism (which would let a process of the same user load an agent into this
 * JVM) and its perf-data file are off in bin/supervisor's JVM options.
 *
 * <p>Applied once, after privileges are dropped (a change of user sets dumpable again from
 * {@code fs.suid_dumpable}) and before the first child starts.
 */
final class Hardening {

    private Hardening() {
    }

    /**
     * @throws IllegalStateException if the kernel refuses (both exist since Linux 3.5): the
     *                               supervisor would not start without them
     */
    static void apply() {
        try {
            Posix.noNewPrivileges();
            Posix.notDumpable();
        } catch (ErrnoException e) {
            throw new IllegalStateException("cannot harden the supervisor: " + e.getMessage(), e);
        }
    }
}
