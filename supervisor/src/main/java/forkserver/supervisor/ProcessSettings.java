package forkserver.supervisor;

import java.io.IOException;
import java.io.PrintStream;

/**
 * What the supervisor does to its own process beyond serving: settings that hold for the whole
 * JVM, each made at the one moment it must be. {@link Main} makes them in this order:
 * {@link #beforeThreads()} before any thread of ours starts, {@link #dropPrivileges} once the
 * sockets are bound, {@link #beforeServing} after the drop and before the first child.
 */
final class ProcessSettings {

    /** glibc malloc arenas for the supervisor (see {@link #beforeThreads()}). */
    static final int MALLOC_ARENAS = 2;

    private ProcessSettings() {
    }

    /** Before the supervisor's threads start. */
    static void beforeThreads() {
        // Every child has a JDK reaper thread here, and glibc gives threads that allocate arenas
        // of their own (8 per core by default), whose pages stay resident: two are enough for a
        // process that mostly waits (measured: 49 -> 39 KiB of RSS per held child at 1000 held).
        // Set before the threads start; unlike MALLOC_ARENA_MAX, nothing the children inherit.
        forkserver.posix.Posix.mallocArenaMax(MALLOC_ARENAS);
    }

    /** Drops to --user/--group after binding; false (after one line on stderr) when the system refuses. */
    static boolean dropPrivileges(Privileges privileges, PrintStream err) {
        try {
            privileges.drop();
            return true;
        } catch (IOException | IllegalStateException e) {
            String reason = e instanceof forkserver.posix.ErrnoException errno
                    ? errno.call() + ": " + errno.reason() : e.getMessage();
            err.println("forkserver: cannot drop privileges to"
                    + (privileges.user() != null ? " user " + privileges.user() : "")
                    + (privileges.group() != null ? " group " + privileges.group() : "") + ": " + reason);
            return false;
        }
    }

    /**
     * After the drop, before the first child: the hardening, stdout closed to the JVM, and who
     * decides what an uncaught failure or a signal means for the process ({@code supervisor}).
     */
    static void beforeServing(Supervisor supervisor, PrintStream err) {
        // After the drop (a change of user resets dumpable), before the first child starts.
        Hardening.apply();
        // From here on fd 1 is, for a moment at every --stdio inout spawn, a client's socket:
        // nothing in this JVM may print to it (its own diagnostics go to stderr, bin/supervisor).
        System.setOut(err);
        // An unforeseen failure on the accept path or in the registry (or any Error) ends the
        // supervisor cleanly rather than leave it alive and not serving; on a side thread (metrics,
        // notify, a signal's handler) it costs that thread. Failures on one connection's path are
        // contained before they get here.
        Thread.setDefaultUncaughtExceptionHandler((thread, failure) -> supervisor.uncaught(thread.getName(), failure));
        Signals.onTermination(supervisor::stop);
        Signals.onReload(supervisor::reloadRules);
        Signals.onStatus(supervisor::logStatus);
    }
}
