package forkserver.handler;

import java.io.IOException;
import java.util.List;

/**
 * A service that runs in a process of its own and serves exactly one connection.
 *
 * <p>Implement it in a public class with a public no-argument constructor, put its jar on the
 * worker's class path ({@code FORKSERVER_WORKER_CLASSPATH}) and name the class as the handler
 * ({@code forkserver --handler com.example.MyHandler}, or {@code forkserver-worker
 * com.example.MyHandler} under inetd or systemd). A process per connection means a handler may
 * keep state in static fields, block, leak or crash without affecting any other connection.
 *
 * <p>The process ends as soon as {@link #serve} returns, with {@link Runtime#halt} (as a forked
 * child ends with {@code _exit}): shutdown hooks do not run and non-daemon threads do not keep it
 * alive. Finish your work, and flush what you buffered (loggers included), before returning.
 *
 * <p>Diagnostics go to {@code System.err}, never to {@code System.out}: under inetd fd 1 is the
 * client's socket.
 */
@FunctionalInterface
public interface Handler {

    /**
     * Serves the connection until the conversation is over. Returning ends the process with the
     * status set by {@link Connection#setExitStatus} (0 unless set); throwing ends it with status 1
     * and one line on stderr. The worker closes the connection after, so a handler need not.
     *
     * @param connection the one connection of this process
     * @throws IOException when the conversation fails; the process then exits with status 1
     */
    void serve(Connection connection) throws IOException;

    /**
     * Prepares this process for a connection that has not arrived yet: a spare worker
     * ({@code forkserver --spares}) calls it before it tells the supervisor it is ready, and an AOT
     * training run calls it to record what it loads. Run the code paths a connection will take
     * (parse a sample request into a buffer, open the files you serve), so that the classes are
     * loaded and the first methods compiled before the client waits for them.
     *
     * <p>It runs once per process, never on the connection's path: an on-demand worker does not
     * call it. Nothing of the connection exists yet (no client, no peer address). A failure is
     * logged and costs only speed: the spare still serves. The default does nothing.
     *
     * @param arguments the handler's arguments, as {@link Connection#arguments} gives them later
     * @throws IOException when warming up fails; logged, not fatal
     */
    default void warmUp(List<String> arguments) throws IOException {
    }
}
