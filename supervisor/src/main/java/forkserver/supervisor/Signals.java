package forkserver.supervisor;

import java.util.function.Consumer;

/**
 * Signal handling. {@code sun.misc.Signal} (module jdk.unsupported, exported) is the JDK's only
 * way to act on SIGTERM and still exit 0 after a drain; a shutdown hook would exit 143.
 */
@SuppressWarnings("removal")
final class Signals {

    private Signals() {
    }

    /** Runs {@code action} with the signal's name on SIGTERM and SIGINT, on the JDK's signal thread. */
    static void onTermination(Consumer<String> action) {
        for (String name : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> action.accept(signal.getName()));
        }
    }

    /** Runs {@code action} on SIGHUP (reload the rules), on the JDK's signal thread. */
    static void onReload(Runnable action) {
        sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> action.run());
    }

    /** Runs {@code action} on SIGUSR1 (log a status line), on the JDK's signal thread. */
    static void onStatus(Runnable action) {
        sun.misc.Signal.handle(new sun.misc.Signal("USR1"), signal -> action.run());
    }

    /**
     * Runs {@code action} on SIGUSR2 (upgrade, nginx's convention), on the JDK's signal thread.
     * HotSpot's own handler for it suspends a thread for a profiler's sample (JFR's sampler); the
     * supervisor runs none, and this one replaces it (without it, a SIGUSR2 is only a warning).
     */
    static void onUpgrade(Runnable action) {
        sun.misc.Signal.handle(new sun.misc.Signal("USR2"), signal -> action.run());
    }
}
