package forkserver.supervisor;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code bin/supervisor}: parses the command line and runs a {@link Supervisor}. */
@Command(name = "supervisor", mixinStandardHelpOptions = true, version = "forkserver 0.1.0",
        sortOptions = false, usageHelpAutoWidth = true,
        description = {
            "Accepts TCP connections and runs COMMAND once per connection, in its own process, with the"
                    + " connection on fd 0 (the inetd convention). Without COMMAND it runs forkserver's"
                    + " worker with the echo handler.",
            "",
        },
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:stopped by SIGTERM or SIGINT after draining its children",
            "1:could not serve (address in use, no permission, ...)",
            "2:usage error",
        },
        footer = {"", "Each child's environment: PROTO=TCP TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT"
                + " REMOTE_ADDR REMOTE_PORT. The supervisor logs to stderr only."})
public final class Main implements Callable<Integer> {

    static final int EXIT_OK = 0;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    static final String DEFAULT_LISTEN = "127.0.0.1:9090";

    @Spec
    private CommandSpec spec;

    @Option(names = {"-l", "--listen"}, paramLabel = "HOST:PORT", defaultValue = DEFAULT_LISTEN,
            description = "Address to listen on; IPv6 in brackets ([::1]:9090); port 0 picks a free one."
                    + " Default: ${DEFAULT-VALUE}.")
    private String listen;

    @Option(names = {"-c", "--max-children"}, paramLabel = "N", defaultValue = "40",
            description = "Children running at once, at most; at the limit new clients wait in the backlog."
                    + " Default: ${DEFAULT-VALUE}.")
    private int maxChildren;

    @Option(names = "--stdio", paramLabel = "MODE", defaultValue = "in",
            description = "in: the connection is the child's fd 0 (inetd, our worker); inout: fd 0 and 1,"
                    + " as tcpserver does, for programs that read stdin and write stdout. Default: ${DEFAULT-VALUE}.")
    private String stdio;

    @Option(names = "--shutdown-grace", paramLabel = "DURATION", defaultValue = "10s",
            description = "On SIGTERM/SIGINT, how long running children may finish before they get SIGTERM."
                    + " Default: ${DEFAULT-VALUE}.")
    private String shutdownGrace;

    @Option(names = "--kill-grace", paramLabel = "DURATION", defaultValue = "5s",
            description = "How long a child may take to exit after SIGTERM before SIGKILL. Default: ${DEFAULT-VALUE}.")
    private String killGrace;

    @Option(names = "--backlog", paramLabel = "N",
            description = "Length of the listen queue. Default: the system's somaxconn.")
    private Integer backlog;

    @Parameters(paramLabel = "COMMAND", arity = "0..*",
            description = "Program and arguments to run per connection (after --, or after the first"
                    + " non-option word). Default: forkserver's worker.")
    private List<String> command = List.of();

    public static void main(String[] args) {
        System.exit(run(args, System.err));
    }

    /** Runs the supervisor as {@code bin/supervisor args} would and returns the exit status. */
    static int run(String[] args, PrintStream err) {
        CommandLine commandLine = new CommandLine(new Main())
                .setStopAtPositional(true)
                .setErr(new java.io.PrintWriter(err, true))
                .setParameterExceptionHandler((e, arguments) -> {
                    err.println("forkserver: " + e.getMessage() + " (see --help)");
                    return EXIT_USAGE;
                })
                .setExecutionExceptionHandler((e, cl, parsed) -> {
                    err.println("forkserver: " + e.getMessage());
                    return EXIT_FAILURE;
                });
        return commandLine.execute(args);
    }

    @Override
    public Integer call() throws IOException {
        Map<String, String> environment = System.getenv();
        Config config = config(environment);
        EventLog log = new EventLog(System.err);
        Supervisor supervisor;
        try {
            supervisor = Supervisor.open(config, environment, log);
        } catch (IOException e) {
            String reason = e instanceof forkserver.supervisor.posix.ErrnoException errno ? errno.reason() : e.getMessage();
            System.err.println("forkserver: cannot listen on " + HostPort.format(config.listen()) + ": " + reason);
            return EXIT_FAILURE;
        }
        Signals.onTermination(supervisor::stop);
        supervisor.serve();
        return supervisor.drain() == 0 ? EXIT_OK : EXIT_FAILURE;
    }

    /** The options as a {@link Config}; a bad value is a usage error naming the option. */
    private Config config(Map<String, String> environment) {
        try {
            InetSocketAddress address = HostPort.parse(listen);
            StdioMode mode = switch (stdio) {
                case "in" -> StdioMode.IN;
                case "inout" -> StdioMode.INOUT;
                default -> throw new IllegalArgumentException("--stdio must be 'in' or 'inout', got '" + stdio + "'");
            };
            List<String> argv = command.isEmpty()
                    ? DefaultWorker.command(DefaultWorker.home(), environment)
                    : Commands.resolve(command, environment.get("PATH"));
            return new Config(address, backlog != null ? backlog : somaxconn(), argv, mode, maxChildren,
                    duration("--shutdown-grace", shutdownGrace), duration("--kill-grace", killGrace));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    private static Duration duration(String option, String text) {
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }

    static final String SOMAXCONN = "/proc/sys/net/core/somaxconn";

    /**
     * The kernel's cap on a listen queue; asking for more is silently truncated to it anyway.
     * Read by lines: {@code Files.readString} trusts the size /proc reports and returned "4" of
     * "4096", which made a backlog of 4 (a burst of clients then waited for SYN retransmissions).
     */
    static int somaxconn() {
        try {
            return Integer.parseInt(Files.readAllLines(Path.of(SOMAXCONN)).getFirst().strip());
        } catch (IOException | RuntimeException e) {
            return 4096;
        }
    }
}
