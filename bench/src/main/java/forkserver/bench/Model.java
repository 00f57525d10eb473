package forkserver.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One way to serve a connection, as a real server the bench starts: a name for the table, what it
 * is, the program it needs on the PATH (null when the project has it all), and its command line.
 *
 * @param perConnection what a new connection costs the server: a JVM start, a small process
 *                      start, or nothing but a thread or a callback (for the time estimate)
 * @param idleChildren  the children the server keeps while no client is connected (its spares);
 *                      the bench waits for the server to return to that before each session
 * @param ready         given the server's log, whether it is ready for the next session as it is
 *                      meant to run (a server with spares: its whole pool ready)
 */
public record Model(String name, String description, Start perConnection, String requires,
                    Function<ServerContext, List<String>> command, int idleChildren, Predicate<Path> ready) {

    public Model(String name, String description, Start perConnection, String requires,
                 Function<ServerContext, List<String>> command) {
        this(name, description, perConnection, requires, command, 0, log -> true);
    }

    /** What the server starts for each new connection. */
    public enum Start {
        JVM, PROCESS, NOTHING
    }

    public List<String> command(ServerContext context) {
        return command.apply(context);
    }
}
