package forkserver.supervisor;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Starts one child per connection with the connection on its fd 0 (and fd 1 in
 * {@link StdioMode#INOUT}), through {@link ProcessBuilder}; and spare workers, alike but with
 * their end of a private socketpair on fd 0 ({@link Spares}).
 *
 * <p>The JDK cannot give a child an arbitrary socket, but {@link Redirect#INHERIT} gives it the
 * supervisor's own fd 0 and 1. So, under {@link #handOff}: {@code dup2} the connection onto fd 0
 * (and 1), {@code start()} (which returns only after the child has exec'd, so it has its copies),
 * and point fd 0 back at /dev/null and fd 1 back at the supervisor's stdout. Between spawns the
 * supervisor's fd 0 is /dev/null, so nothing in it ever reads a client's bytes.
 *
 * <p>A child holds nothing else of ours: our descriptors are close-on-exec, and the JDK closes
 * every descriptor above 2 in the child before exec anyway.
 */
final class Spawner {

    /** Tells forkserver's worker it is a spare: its fd 0 is a socketpair, not yet a client. */
    static final String SPARE_VARIABLE = "FORKSERVER_SPARE";

    private final List<String> command;
    private final List<String> spareCommand;
    private final StdioMode stdio;
    private final Map<String, String> baseEnvironment;
    private final int devNull;
    private final int savedStdout;
    // Guards the supervisor's fds 0 and 1 while they point at a client: one hand-off at a time.
    private final Object handOff = new Object();

    /**
     * Parks the supervisor's fd 0 on /dev/null and keeps a copy of its stdout. Call after the
     * listening socket has been moved off fd 0, if it was there.
     */
    Spawner(List<String> command, List<String> spareCommand, StdioMode stdio, Map<String, String> baseEnvironment)
            throws ErrnoException {
        this.command = List.copyOf(command);
        this.spareCommand = List.copyOf(spareCommand);
        this.stdio = stdio;
        this.baseEnvironment = Map.copyOf(baseEnvironment);
        this.devNull = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
        this.savedStdout = Posix.dupCloexec(1, 3);
        Posix.dup2(devNull, 0);
    }

    /**
     * Starts the command for {@code connection}, with {@code admitted} (a rule's variables,
     * TCPCONNNUM) added to its environment. The caller still owns (and must close) the
     * connection's descriptor; the child has its own copy.
     */
    Process spawn(Accepted connection, Map<String, String> admitted) throws IOException {
        return start(command, connectionEnvironment(connection, admitted), connection.fd(), stdio == StdioMode.INOUT);
    }

    /**
     * Starts a spare worker: the spare command with {@code FORKSERVER_SPARE=1}, and {@code pairEnd} (its
     * end of a private socketpair, over which it will be handed its connection) on fd 0. The
     * caller still owns {@code pairEnd} and closes it once this returns.
     */
    Process spawnSpare(int pairEnd) throws IOException {
        Map<String, String> environment = new HashMap<>(baseEnvironment);
        environment.put(SPARE_VARIABLE, "1");
        return start(spareCommand, environment, pairEnd, false);
    }

    /**
     * The variables a child learns about its connection: the admission's (a rule's, TCPCONNNUM)
     * and the connection's own facts, last, so that no rule can disguise them. An on-demand child
     * finds them in its environment, a spare in its hand-off message.
     */
    static Map<String, String> connectionEnvironment(Accepted connection, Map<String, String> admitted) {
        Map<String, String> variables = new HashMap<>(admitted);
        variables.putAll(ConnectionEnvironment.of(connection));
        return variables;
    }

    private Process start(List<String> argv, Map<String, String> connectionVariables, int fd0, boolean alsoFd1)
            throws IOException {
        ProcessBuilder builder = new ProcessBuilder(argv)
                .redirectInput(Redirect.INHERIT)
                .redirectOutput(Redirect.INHERIT)
                .redirectError(Redirect.INHERIT);
        Map<String, String> environment = builder.environment();
        environment.clear();
        environment.putAll(baseEnvironment);
        // Only a spare is told it is one: a worker spawned for a client, told so by an inherited
        // variable, would wait for a hand-off on its client's socket.
        environment.remove(SPARE_VARIABLE);
        environment.putAll(connectionVariables);
        synchronized (handOff) {
            Posix.dup2(fd0, 0);
            try {
                if (alsoFd1) {
                    Posix.dup2(fd0, 1);
                }
                return builder.start();
            } finally {
                Posix.dup2(devNull, 0);
                if (alsoFd1) {
                    Posix.dup2(savedStdout, 1);
                }
            }
        }
    }
}
