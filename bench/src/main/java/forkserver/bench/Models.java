package forkserver.bench;

import forkserver.bench.Model.Family;
import forkserver.bench.servers.EventLoop;
import forkserver.bench.servers.ThreadPerConnection;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Every model the bench knows, in the order of the table. Adding one is adding an entry: a name,
 * a sentence, and the command line of a server that speaks the echo protocol on
 * {@code context.host():context.port()}.
 */
public final class Models {

    /** Debian's Python 3 (python3-minimal), not whichever python3 comes first on the PATH. */
    static final String PYTHON = "/usr/bin/python3";
    /** The article's servers, each one small file taking HOST PORT. */
    static final String SEEDS = "bench/src/main/resources/seed";
    /** Spare workers of the "spares" model. */
    static final int SPARES = 4;

    public static final List<Model> ALL = List.of(
            new Model("process", "bin/supervisor: one worker JVM per connection",
                    Family.JAVA_PROCESS, Model.Start.JVM, null, c -> supervisor(c)),
            // Spares are refilled one at a time once connections pause (150 ms), each a JVM start:
            // the bench waits for the whole pool before each session, as a server with spares is
            // meant to run (every model's sessions are one round apart); back-to-back load
            // degrades to the "process" row.
            new Model("spares", "pool full", "bin/supervisor --spares 4: prespawned worker JVMs take each connection by"
                    + " descriptor hand-off", Family.JAVA_PROCESS, Model.Start.JVM, null, c -> supervisor(c, List.of("--spares", Integer.toString(SPARES))),
                    SPARES, log -> SparesLog.ready(log) >= SPARES),
            new Model("process-native", "bin/supervisor --stdio inout: one native echo process per connection",
                    Family.JAVA_PROCESS, Model.Start.PROCESS, null, c -> supervisor(c, Stream.concat(Stream.of("--stdio", "inout", "--"), c.nativeEcho().stream()).toList())),
            new Model("thread", "one JVM, one platform thread per connection",
                    Family.JAVA_ONE_PROCESS, Model.Start.NOTHING, null, c -> javaServer(c, ThreadPerConnection.class, "platform")),
            new Model("virtual", "one JVM, one virtual thread per connection",
                    Family.JAVA_ONE_PROCESS, Model.Start.NOTHING, null, c -> javaServer(c, ThreadPerConnection.class, "virtual")),
            new Model("eventloop", "one JVM, one thread, a NIO Selector for every connection",
                    Family.JAVA_ONE_PROCESS, Model.Start.NOTHING, null, c -> javaServer(c, EventLoop.class)),
            // The article's own servers, as it writes them, in Debian's Python.
            new Model("seed-thread", "the article's Python server: a thread per connection",
                    Family.SEED, Model.Start.NOTHING, PYTHON, c -> seed(c, "thread.py")),
            new Model("seed-fork", "the article's Python server: a forked process per connection",
                    Family.SEED, Model.Start.PROCESS, PYTHON, c -> seed(c, "fork.py")),
            new Model("seed-callback", "the article's Python server: callbacks on a selectors (epoll) loop",
                    Family.SEED, Model.Start.NOTHING, PYTHON, c -> seed(c, "callback.py")),
            new Model("seed-asyncio", "the article's Python server: asyncio streams, a coroutine per connection",
                    Family.SEED, Model.Start.NOTHING, PYTHON, c -> seed(c, "asyncio_streams.py")),
            new Model("tcpserver-native", "ucspi-tcp's tcpserver running the native echo program",
                    Family.REFERENCE, Model.Start.PROCESS, "tcpserver", c -> tcpserver(c, c.nativeEcho())),
            new Model("tcpserver-worker", "ucspi-tcp's tcpserver running bin/worker",
                    Family.REFERENCE, Model.Start.JVM, "tcpserver", c -> tcpserver(c, List.of(c.bin("worker")))),
            new Model("systemd-native", "systemd-socket-activate --inetd running the native echo program",
                    Family.REFERENCE, Model.Start.PROCESS, "systemd-socket-activate", c -> socketActivate(c, c.nativeEcho())),
            new Model("systemd-worker", "systemd-socket-activate --inetd running bin/worker",
                    Family.REFERENCE, Model.Start.JVM, "systemd-socket-activate", c -> socketActivate(c, List.of(c.bin("worker")))));

    /**
     * Models run only when named (--models): the process models with the supervisor's boxes off
     * ({@code --leftovers keep}), beside the boxed rows above (as root, connections are boxed by
     * default) to measure what a box costs per connection.
     */
    public static final List<Model> ON_REQUEST = List.of(
            new Model("process-unboxed", "bin/supervisor --leftovers keep: one worker JVM per connection, no box",
                    Family.JAVA_PROCESS, Model.Start.JVM, null, c -> supervisor(c, List.of("--leftovers", "keep"))),
            new Model("process-native-unboxed", "bin/supervisor --leftovers keep --stdio inout: one native echo process per"
                    + " connection, no box", Family.JAVA_PROCESS, Model.Start.PROCESS, null,
                    c -> supervisor(c, Stream.concat(Stream.of("--leftovers", "keep", "--stdio", "inout", "--"), c.nativeEcho().stream()).toList())));

    /** More children than any workload opens (the scale ladder holds up to 10,000), so that the limit never queues a client. */
    static final String MAX_CHILDREN = "20000";
    /** Linux's default somaxconn, the supervisor's default backlog. */
    static final String BACKLOG = "4096";

    private Models() {
    }

    public static Model named(String name) {
        return Stream.concat(ALL.stream(), ON_REQUEST.stream()).filter(m -> m.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown model '" + name + "' (known: "
                        + String.join(", ", Stream.concat(ALL.stream(), ON_REQUEST.stream()).map(Model::name).toList()) + ")"));
    }

    private static List<String> supervisor(ServerContext c, List<String> more) {
        return join(List.of(c.bin("supervisor"), "--listen", c.address(), "--max-children", MAX_CHILDREN,
                "--shutdown-grace", "2s", "--kill-grace", "1s"), more);
    }

    private static List<String> supervisor(ServerContext c) {
        return supervisor(c, List.of());
    }

    private static List<String> javaServer(ServerContext c, Class<?> main, String... first) {
        return join(c.javaServer(main), join(List.of(first), List.of(c.host(), Integer.toString(c.port()))));
    }

    /**
     * -H -R: no DNS or ident look-up of the client, -l 0: nor of the server's own name; -b: the
     * listen queue the supervisor has (the kernel's somaxconn), not tcpserver's 20, past which a
     * burst of 50 waits a second for TCP's SYN retransmission.
     */
    private static List<String> tcpserver(ServerContext c, List<String> program) {
        return join(List.of("tcpserver", "-H", "-R", "-l", "0", "-c", MAX_CHILDREN, "-b", BACKLOG, c.host(),
                Integer.toString(c.port())), program);
    }

    /** --inetd: the connection is the program's fd 0 and 1; -a: a new process per connection. */
    private static List<String> socketActivate(ServerContext c, List<String> program) {
        return join(List.of("systemd-socket-activate", "--inetd", "-a", "--listen", c.address()), program);
    }

    private static List<String> seed(ServerContext c, String file) {
        return List.of(PYTHON, c.home().resolve(SEEDS).resolve(file).toString(), c.host(), Integer.toString(c.port()));
    }

    private static List<String> join(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
