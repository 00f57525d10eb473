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
}
