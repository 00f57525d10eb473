package forkserver.worker;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.Channel;
import java.nio.channels.SocketChannel;
import java.util.Map;

/**
 * The worker's entry point: takes the connection on fd 0 with {@link System#inheritedChannel()}
 * and runs a handler on it, as under inetd ({@code nowait}), systemd ({@code Accept=yes}) or
 * forkserver's supervisor. With {@code FORKSERVER_SPARE=1} it first waits, warm, for the
 * supervisor to hand it its connection ({@link Spare}).
 *
 * <p>Usage: {@code Launcher [HANDLER]}, HANDLER being {@code echo} (the default) or the name of a
 * class that implements {@link Handler}; {@code FORKSERVER_HANDLER} names it when no argument
 * does.
 *
 * <p>This class is on every connection's critical path: it loads nothing it does not need
 * (no logging framework, no reflection unless a handler class is named).
 */
public final class Launcher {

    public static final int EXIT_OK = 0;
    /** The handler threw: the failure is logged on stderr, the connection is closed. */
    public static final int EXIT_HANDLER_FAILED = 1;
    /** Misconfiguration: fd 0 is not a connection, the handler is unknown, or a variable is wrong. */
    public static final int EXIT_USAGE = 2;
    /** FORKSERVER_IDLE_TIMEOUT passed without a byte from the client: the connection was closed. */
    public static final int EXIT_IDLE = 3;

    static final String DEFAULT_HANDLER = "echo";

    private Launcher() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> environment = System.getenv();
        if (Spare.MODE.equals(environment.get("FORKSERVER_SPARE"))) {
            // Started before its connection: waits for the supervisor to hand it over onto fd 0.
            environment = Spare.awaitConnection(environment);
        }
        String handler = args.length > 0 ? args[0] : environment.get("FORKSERVER_HANDLER");
        Channel inherited = System.inheritedChannel();
        String idleTimeout = environment.get("FORKSERVER_IDLE_TIMEOUT");
        IdleTimeoutChannel watched = null;
        if (idleTimeout != null && inherited instanceof SocketChannel channel && channel.isConnected()) {
            try {
                watched = IdleTimeoutChannel.watch(channel, IdleTimeoutChannel.parse(idleTimeout), System.err);
            } catch (IllegalArgumentException e) {
                System.err.println("forkserver worker: " + e.getMessage());
                end(EXIT_USAGE);
            }
            inherited = watched;
        }
        int status = serve(inherited, handler, environment, System.err);
        if (watched != null && watched.expired()) {
            status = EXIT_IDLE;
        }
        end(status);
    }

    /**
     * Ends the process the way a forked child ends with {@code _exit(2)}: {@link Runtime#halt}
     * after flushing stdio. The connection is over, nothing of this process outlives it, and
     * {@code System.exit} would first look up a System.Logger for its exit event (a ServiceLoader
     * scan of the class path): measured 62 -> 40 ms of CPU per connection. Shutdown hooks do not
     * run, which the Handler contract says.
     *
     * <p>The inherited channel is not closed either: the JDK's close of an inherited channel
     * dup2s /dev/null over fds 0, 1 and 2, after which stderr silently vanishes. The kernel closes
     * the socket at exit; serve() has already sent the FIN.
     */
    static void end(int status) {
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(status);
    }

    /**
     * Serves {@code inherited} with the named handler and returns the process's exit status.
     * Errors are one line on {@code err}, never a byte on the connection.
     */
    static int serve(Channel inherited, String handlerName, Map<String, String> env, PrintStream err) {
        if (!(inherited instanceof SocketChannel channel) || !channel.isConnected()) {
            err.println("forkserver worker: fd 0 is " + Stdin.describe(inherited)
                    + ", not a connected TCP socket; run the worker under bin/supervisor,"
                    + " inetd (nowait) or systemd socket activation (Accept=yes)");
            return EXIT_USAGE;
        }
        String name = handlerName == null || handlerName.isBlank() ? DEFAULT_HANDLER : handlerName;
        Handler handler;
        try {
            handler = handlerNamed(name);
        } catch (ReflectiveOperationException | ClassCastException | LinkageError e) {
            err.println("forkserver worker: unknown handler '" + name + "': give 'echo' or the name"
                    + " of a public class that implements forkserver.worker.Handler (" + e + ")");
            endOfConversation(channel);
            return EXIT_USAGE;
        }
        try {
            handler.serve(new Connection(channel, env));
            return EXIT_OK;
        } catch (IOException | RuntimeException e) {
            err.println("forkserver worker: handler " + name + " failed: " + e);
            return EXIT_HANDLER_FAILED;
        } finally {
            endOfConversation(channel);
        }
    }

    static Handler handlerNamed(String name) throws ReflectiveOperationException {
        if (name.equals(DEFAULT_HANDLER)) {
            return new EchoHandler(); // no reflection on the default path
        }
        return Class.forName(name).asSubclass(Handler.class).getConstructor().newInstance();
    }

    /**
     * Tells the client the conversation is over (FIN) without closing the descriptor: see
     * {@link #main} for why the descriptor itself is left to process exit.
     */
    private static void endOfConversation(SocketChannel channel) {
        try {
            channel.shutdownOutput();
        } catch (IOException e) {
            // The client is gone already; nothing left to tell it.
        }
    }
}
