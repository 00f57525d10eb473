package forkserver.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One way to serve a connection, as a real server the bench starts: a name for the command line,
 * the regime it is measured in (part of the row's name), what it is, its family (the charts'
 * colour), the program it needs (null when the project has it all), and its command line.
 *
 * @param regime        how the bench runs it when that matters to its figures ("pool full"), or null
 * @param perConnection what a new connection costs the server: a JVM start, a small process
 *                      start, or nothing but a thread or a callback (for the time estimate)
 * @param requires      a program on the PATH, or an absolute path, without which the model is not run
 * @param idleChildren  the children the server keeps while no client is connected (its spares);
 *                      the bench waits for the server to return to that before each session
 * @param ready         given the server's log, whether it is ready for the next session as it is
 *                      meant to run (a server with spares: its whole pool ready)
 */
public record Model(String name, String regime, String description, Family family, Start perConnection, String requires,
                    Function<ServerContext, List<String>> command, int idleChildren, Predicate<Path> ready) {

    public Model(String name, String description, Family family, Start perConnection, String requires,
                 Function<ServerContext, List<String>> command) {
        this(name, null, description, family, perConnection, requires, command, 0, log -> true);
    }

    /** What the server starts for each new connection. */
    public enum Start {
        JVM, PROCESS, NOTHING
    }

    /** The groups the report and the charts keep together, each with one colour. */
    public enum Family {
        JAVA_PROCESS("Java, a process per connection"),
        JAVA_ONE_PROCESS("Java, threads or an event loop in one JVM"),
        SEED("the article's Python servers"),
        REFERENCE("reference servers (tcpserver, systemd)");

        private final String title;

        Family(String title) {
            this.title = title;
        }

        public String title() {
            return title;
        }
    }

    /** The row's name: the model and its regime, "spares (pool full)". */
    public String label() {
        return regime == null ? name : name + " (" + regime + ")";
    }

    public List<String> command(ServerContext context) {
        return command.apply(context);
    }
}
