package forkserver.bench;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * One way to serve a connection, as a real server the bench starts: a name for the table, what it
 * is, the program it needs on the PATH (null when the project has it all), and its command line.
 *
 * @param perConnection what a new connection costs the server: a JVM start, a small process
 *                      start, or nothing but a thread or a callback (for the time estimate)
 * @param pace          the pause after each sequential session and before the burst: a server
 *                      that gets ready for the next connection between connections (spares) is
 *                      measured as it is meant to be used; zero for every other model
 * @param idleChildren  the children the server keeps while no client is connected (its spares);
 *                      the bench waits for the server to return to that before it measures
 */
public record Model(String name, String description, Start perConnection, String requires,
                    Function<ServerContext, List<String>> command, Duration pace, int idleChildren) {

    public Model(String name, String description, Start perConnection, String requires,
                 Function<ServerContext, List<String>> command) {
        this(name, description, perConnection, requires, command, Duration.ZERO, 0);
    }

    /** What the server starts for each new connection. */
    public enum Start {
        JVM, PROCESS, NOTHING
    }

    public List<String> command(ServerContext context) {
        return command.apply(context);
    }
}
