package forkserver.worker;

import java.io.IOException;

/**
 * A service that runs in a worker process and serves exactly one connection.
 *
 * <p>Write one by implementing this interface in a public class with a public no-argument
 * constructor, put its jar on the worker's class path ({@code FORKSERVER_WORKER_CLASSPATH}) and
 * name the class as the worker's handler ({@code bin/worker com.example.MyHandler}, or
 * {@code FORKSERVER_HANDLER=com.example.MyHandler}). A process per connection means a handler may
 * keep state in static fields, block, leak or crash without affecting any other connection.
 *
 * <p>The process ends as soon as {@link #serve} returns, with {@link Runtime#halt} (as a forked
 * child ends with {@code _exit}): shutdown hooks do not run and non-daemon threads do not keep it
 * alive. Finish your work, and flush what you buffered, before returning.
 *
 * <p>Diagnostics go to {@code System.err}, never to {@code System.out}: under inetd fd 1 is the
 * client's socket.
 */
@FunctionalInterface
public interface Handler {

    /**
     * Serves the connection until the conversation is over. Returning (or throwing) ends the
     * process; the launcher closes the connection, so a handler need not.
     */
    void serve(Connection connection) throws IOException;
}
