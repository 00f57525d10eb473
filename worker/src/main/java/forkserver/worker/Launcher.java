package forkserver.worker;

import forkserver.handler.Handler;
import forkserver.handler.SocketConnection;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.Channel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Map;

/**
 * The worker's entry point: takes the connection on fd 0 with {@link System#inheritedChannel()}
 * and runs a handler on it, as under inetd ({@code nowait}), systemd ({@code Accept=yes}) or
 * forkserver's supervisor. With {@code FORKSERVER_SPARE=1} it first waits, warm, for the
 * supervisor to hand it its connection ({@link Spare}).
 *
 * <p>Usage: {@code Launcher [HANDLER [ARG...]]}, HANDLER being {@code echo} (the default) or the
 * name of a class that implements {@link Handler}; {@code FORKSERVER_HANDLER} names it when no
 * argument does. The ARGs are the handler's ({@code Connection.arguments()}).
 * {@code Launcher --check HANDLER} only checks that HANDLER can be loaded and exits (0, or 2 with
 * one line on stderr): the supervisor asks it at start-up, with the workers' own class path.
 * {@code Launcher --train HANDLER [ARG...]} runs what a spare runs before its connection (the
 * worker's socket path, then the handler's warm-up) and exits: an AOT training run
 * ({@code bin/worker --train CACHE HANDLER}) records what it loads.
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
    /** The TLS handshake failed or timed out (one line on stderr says why): nothing was served. */
    public static final int EXIT_TLS = 4;

    static final String DEFAULT_HANDLER = "echo";
    static final String CHECK = "--check";
    static final String TRAIN = "--train";

    private Launcher() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 2 && args[0].equals(CHECK)) {
            end(check(args[1], System.getenv(), System.err));
        }
        if (args.length >= 2 && args[0].equals(TRAIN)) {
            end(train(args[1], List.of(args).subList(2, args.length), System.getenv(), System.err));
        }
        Map<String, String> environment = System.getenv();
        // TLS (FORKSERVER_TLS_CERT): the key is loaded before anything else, and a spare has it
        // ready (and its handshake code warm) before it says ready.
        Tls tls = tlsConfigured(environment) ? Tls.loadOrExit(environment) : null;
        String name = handlerName(args.length > 0 ? args[0] : environment.get("FORKSERVER_HANDLER"));
        List<String> arguments = args.length > 1 ? List.of(args).subList(1, args.length) : List.of();
        Handler handler = null;
        if (Spare.MODE.equals(environment.get("FORKSERVER_SPARE"))) {
            // Started before its connection: loads and warms its handler, then waits for the
            // supervisor to hand the connection over onto fd 0. A handler that cannot be loaded
            // is found here, before the spare says ready, not on a client's connection.
            try {
                handler = handlerNamed(name);
            } catch (UnknownHandler e) {
                System.err.println("forkserver worker: " + e.getMessage());
                end(EXIT_USAGE);
            }
            if (tls != null) {
                tls.warmUp();
            }
            environment = Spare.awaitConnection(environment, handler, arguments);
        }
        Channel inherited = System.inheritedChannel();
        String idleTimeout = environment.get("FORKSERVER_IDLE_TIMEOUT");
        IdleTimeoutChannel watched = null;
        if (idleTimeout != null && inherited instanceof SocketChannel channel && channel.isConnected()) {
            try {
                watched = IdleTimeoutChannel.watch(channel, IdleTimeoutChannel.parse(idleTimeout), System.err);
            } catch (IllegalArgumentException e) {
                System.err.println("forkserver worker: FORKSERVER_IDLE_TIMEOUT: " + e.getMessage());
                end(EXIT_USAGE);
            }
            inherited = watched;
        }
        int status = serve(inherited, name, handler, arguments, environment, tls, System.err);
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
     * {@code --check HANDLER}: EXIT_OK when the handler can be loaded (and, with
     * FORKSERVER_TLS_CERT, the TLS key and certificates too), else one line and EXIT_USAGE.
     */
    static int check(String name, Map<String, String> env, PrintStream err) {
        try {
            Class<? extends Handler> type = handlerClass(handlerName(name));
            // What loading cannot tell: a JDK class the runtime lacks, used inside serve, or a
            // class file too new, beside the handler class in its package.
            String problem = type == EchoHandler.class ? null : HandlerCheck.scan(type);
            if (problem != null) {
                throw new UnknownHandler(problem);
            }
        } catch (UnknownHandler e) {
            err.println("forkserver worker: " + e.getMessage());
            return EXIT_USAGE;
        }
        return tlsConfigured(env) ? Tls.check(env, err) : EXIT_OK;
    }

    static boolean tlsConfigured(Map<String, String> env) {
        String cert = env.get("FORKSERVER_TLS_CERT");
        return cert != null && !cert.isEmpty();
    }

    /**
     * {@code --train}: what a spare warms before its connection, without one: the channel lookup,
     * the worker's socket path and the handler's warm-up. EXIT_OK, or one line and non-zero.
     */
    static int train(String name, List<String> arguments, Map<String, String> env, PrintStream err) {
        Handler handler;
        try {
            handler = handlerNamed(handlerName(name));
        } catch (UnknownHandler e) {
            err.println("forkserver worker: " + e.getMessage());
            return EXIT_USAGE;
        }
        try {
            System.inheritedChannel(); // the on-demand path's first call (fd 0 is no client here)
        } catch (IOException e) {
            // nothing to learn from fd 0
        }
        WarmUp.socketPath(env);
        if (tlsConfigured(env)) {
            Tls.loadOrExit(env).warmUp();
        }
        return WarmUp.handler(handler, arguments) ? EXIT_OK : EXIT_HANDLER_FAILED;
    }

    /**
     * Serves {@code inherited} with the named handler (already made when {@code handler} is not
     * null) and returns the process's exit status: the handler's choice, or one of ours. Errors
     * are one line on {@code err}, never a byte on the connection.
     */
    static int serve(Channel inherited, String name, Handler handler, List<String> arguments,
            Map<String, String> env, Tls tls, PrintStream err) {
        if (!(inherited instanceof SocketChannel channel) || !channel.isConnected()) {
            err.println("forkserver worker: fd 0 is " + Stdin.describe(inherited)
                    + ", not a connected TCP socket; run the worker under bin/supervisor,"
                    + " inetd (nowait) or systemd socket activation (Accept=yes)");
            return EXIT_USAGE;
        }
        keepAlive(channel, err);
        try {
            if (handler == null) {
                handler = handlerNamed(name);
            }
        } catch (UnknownHandler e) {
            err.println("forkserver worker: " + e.getMessage());
            endOfConversation(channel);
            return EXIT_USAGE;
        }
        SocketConnection connection = tls == null ? new SocketConnection(channel, env, arguments)
                : tls.connect(channel, env, arguments, err);
        if (connection == null) {
            endOfConversation(channel); // the handshake failed: said on err, nothing to serve
            return EXIT_TLS;
        }
        try {
            handler.serve(connection);
            return connection.exitStatus();
        } catch (IOException | RuntimeException e) {
            err.println("forkserver worker: handler " + name + " failed: " + e);
            return EXIT_HANDLER_FAILED;
        } catch (LinkageError e) {
            // A class missing at its first use (a JDK module the runtime lacks, a jar left off
            // FORKSERVER_WORKER_CLASSPATH): one line that says which, not a stack trace.
            String why = HandlerCheck.whyNotLoaded(name, e, Launcher.class.getClassLoader());
            err.println("forkserver worker: " + (why != null ? why : "handler " + name + " failed: " + e));
            return EXIT_HANDLER_FAILED;
        } finally {
            endOfConversation(connection);
        }
    }

    static String handlerName(String given) {
        return given == null || given.isBlank() ? DEFAULT_HANDLER : given;
    }

    /** A new instance of the named handler. */
    static Handler handlerNamed(String name) throws UnknownHandler {
        if (name.equals(DEFAULT_HANDLER)) {
            return new EchoHandler(); // no reflection on the default path
        }
        Class<? extends Handler> type = handlerClass(name);
        try {
            return type.getConstructor().newInstance();
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            String why = cause instanceof LinkageError linkage
                    ? HandlerCheck.whyNotLoaded(name, linkage, type.getClassLoader()) : null;
            throw new UnknownHandler(why != null ? why : "handler " + name + " could not be made: its constructor threw " + cause);
        }
    }

    /**
     * The named handler's class, checked without running any of its code: it exists on the class
     * path, implements Handler and has a public no-argument constructor.
     */
    static Class<? extends Handler> handlerClass(String name) throws UnknownHandler {
        if (name.equals(DEFAULT_HANDLER)) {
            return EchoHandler.class;
        }
        Class<?> type;
        try {
            type = Class.forName(name, false, Launcher.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            String why = e instanceof LinkageError linkage
                    ? HandlerCheck.whyNotLoaded(name, linkage, Launcher.class.getClassLoader()) : null;
            if (why != null) {
                throw new UnknownHandler(why);
            }
            throw new UnknownHandler("unknown handler '" + name + "': no such class on the worker's class path ("
                    + "FORKSERVER_WORKER_CLASSPATH=" + System.getenv().getOrDefault("FORKSERVER_WORKER_CLASSPATH", "")
                    + "); give 'echo' or the name of a public class that implements " + Handler.class.getName());
        }
        if (!Handler.class.isAssignableFrom(type) || !java.lang.reflect.Modifier.isPublic(type.getModifiers())) {
            if (Handler.class.isAssignableFrom(type)) {
                throw new UnknownHandler("handler '" + name + "' is not a public class");
            }
            throw new UnknownHandler("handler '" + name + "' does not implement " + Handler.class.getName());
        }
        try {
            type.getConstructor();
        } catch (NoSuchMethodException e) {
            throw new UnknownHandler("handler '" + name + "' has no public no-argument constructor");
        }
        return type.asSubclass(Handler.class);
    }

    /** A handler that cannot be loaded or made: its message is the one line to log. */
    static final class UnknownHandler extends Exception {
        private static final long serialVersionUID = 1L;

        UnknownHandler(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * TCP keepalive on the connection, unless it has it already (bin/supervisor sets it, with
     * probes after a minute of silence; under inetd or systemd it is the system's
     * net.ipv4.tcp_keepalive_time): a client that vanished without a word then ends this process
     * instead of holding it for good. One getsockopt when it is on already. A UNIX-domain
     * connection has no keepalive (its peer is on this host, and its end is seen): nothing to do.
     */
    private static void keepAlive(SocketChannel channel, PrintStream err) {
        if (!channel.supportedOptions().contains(java.net.StandardSocketOptions.SO_KEEPALIVE)) {
            return;
        }
        try {
            if (!channel.getOption(java.net.StandardSocketOptions.SO_KEEPALIVE)) {
                channel.setOption(java.net.StandardSocketOptions.SO_KEEPALIVE, true);
            }
        } catch (IOException | UnsupportedOperationException e) {
            err.println("forkserver worker: cannot turn TCP keepalive on: " + e.getMessage()); // served all the same
        }
    }

    /**
     * Tells the client the conversation is over without closing the descriptor (see
     * {@link #end}): TLS's close_notify first, then TCP's FIN.
     */
    private static void endOfConversation(SocketConnection connection) {
        if (connection.tlsSession().isPresent()) {
            // A cast only here: an instanceof would load TlsChannel on every plain connection.
            ((TlsChannel) connection.channel()).endOfConversation();
        }
        endOfConversation(connection.socket());
    }

    /**
     * Tells the client the conversation is over (FIN) without closing the descriptor: see
     * {@link #end} for why the descriptor itself is left to process exit.
     */
    private static void endOfConversation(SocketChannel channel) {
        try {
            channel.shutdownOutput();
        } catch (IOException e) {
            // The client is gone already; nothing left to tell it.
        }
    }
}
