package forkserver.bench;

import java.util.List;
import java.util.function.Function;

/**
 * One way to serve a connection, as a real server the bench starts: a name for the table, what it
 * is, the program it needs on the PATH (null when the project has it all), and its command line.
 *
 * @param perConnection what a new connection costs the server: a JVM start, a small process
 *                      start, or nothing but a thread or a callback (for the time estimate)
 */
public record Model(String name, String description, Start perConnection, String requires,
                    Function<ServerContext, List<String>> command) {

    /** What the server starts for each new connection. */
    public enum Start {
        JVM, PROCESS, NOTHING
    }

    public List<String> command(ServerContext context) {
        return command.apply(context);
    }
}
