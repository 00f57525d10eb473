package forkserver.supervisor;

import forkserver.supervisor.base.HostPort;
import forkserver.supervisor.listen.Handover;
import forkserver.supervisor.listen.InheritedSocket;
import forkserver.supervisor.listen.Listeners;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.systemd.SystemdNotify;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code bin/supervisor} (installed: {@code forkserver}): parses the command line and runs a
 * {@link Supervisor}. The annotations are also the man page and the bash completion, which the
 * Debian package generates from them (packaging/pom.xml).
 */
@Command(name = "forkserver", mixinStandardHelpOptions = true, versionProvider = Version.class,
        header = "Serve TCP with one process per connection.",
        sortOptions = false, usageHelpAutoWidth = true,
        description = {
            "Accepts TCP (and UNIX-domain) connections and runs COMMAND once per connection, in its own process, with the"
                    + " connection on fd 0 (the inetd convention). Without COMMAND it runs forkserver's"
                    + " worker with the echo handler.",
            "",
        },
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:stopped by SIGTERM or SIGINT after draining its children",
            "1:could not serve (address in use, no permission, ...), or a failure ended it (logged as fatal)",
            "2:usage error",
        },
        footer = {"", "Each child's environment: PROTO=TCP TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT"
                + " REMOTE_ADDR REMOTE_PORT TCPCONNNUM (on a UNIX socket: PROTO=IPC IPCREMOTEEUID IPCREMOTEEGID"
                + " IPCREMOTEPID IPCLOCALPATH IPCCONNNUM), FORKSERVER_LISTENER, and the variables of the rule that"
                + " allowed it (with --proxy-protocol: the client and address its PROXY header names)."
                + " The supervisor logs to stderr only.",
            "", "Signals: TERM/INT stop (draining children), HUP re-reads --rules, USR1 logs a status line,"
                + " USR2 upgrades: a successor started from the same command line takes over the listening socket,"
                + " and this supervisor exits once its children have ended."})
public final class Main implements Callable<Integer> {

    /** The version, from the jar's manifest (the pom's), for --version and the metrics' build_info. */
    public static final String VERSION = Version.of();

    static final int EXIT_OK = 0;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    @Spec
    private CommandSpec spec;

    // Every option and COMMAND: their own class, mixed into this command's model.
    @Mixin
    private Options options;

    // Where the log and every diagnostic go: bin/supervisor's stderr, a test's stream.
    private final PrintStream err;

    // The command line as given, for an upgrade's successor (Upgrade.Relaunch).
    private final String[] arguments;

    private Main(PrintStream err, String[] arguments) {
        this.err = err;
        this.arguments = arguments.clone();
    }

    /** For picocli's generators (the man page, the completion script), which read the model only. */
    public Main() {
        this(System.err, new String[0]);
    }

    public static void main(String[] args) {
        System.exit(run(args, System.err));
    }

    /** Runs the supervisor as {@code bin/supervisor args} would and returns the exit status. */
    static int run(String[] args, PrintStream err) {
        CommandLine commandLine = new CommandLine(new Main(err, args))
                .setStopAtPositional(true)
                .setOverwrittenOptionsAllowed(true) // repeatable --allow/--deny setters; else the last value wins
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

    /** Parsed: the options to a {@link Config}, the process set for serving, the supervisor run. */
    @Override
    public Integer call() throws IOException {
        Handover.Predecessor predecessor;
        List<InheritedSocket> inherited;
        try {
            // Before anything else touches fds 0 to 3: the activator's sockets may be on them, or,
            // in an upgrade's successor, the channel its predecessor passes the sockets on.
            predecessor = Handover.receive(System.getenv());
            inherited = predecessor != null ? predecessor.sockets() : options.inheritedSockets(System.getenv());
        } catch (IllegalArgumentException e) {
            throw usageError(e);
        }
        ProcessSettings.beforeThreads();
        Map<String, String> environment;
        Config config;
        Privileges privileges;
        EventLog log;
        SystemdNotify notify;
        try {
            environment = options.childEnvironment(InheritedSocket.withoutActivationVariables(System.getenv()));
            SystemdNotify.VARIABLES.forEach(environment::remove);
            environment.remove(Handover.VARIABLE);
            environment.remove(Upgrade.LAUNCHER_VARIABLE);
            config = options.config(environment, inherited);
            privileges = options.privileges();
            log = options.log(err);
            notify = SystemdNotify.of(System.getenv(), ProcessHandle.current().pid(), log);
        } catch (IllegalArgumentException e) {
            throw usageError(e);
        }
        Supervisor supervisor;
        try {
            supervisor = Supervisor.open(config, inherited, environment, log, notify);
        } catch (Supervisor.BoxesUnavailable e) {
            err.println("forkserver: cannot box connections: " + e.getMessage());
            return EXIT_FAILURE;
        } catch (IOException e) {
            String where = e instanceof Supervisor.MetricsUnavailable ? "--metrics " + HostPort.format(config.metrics())
                    : e instanceof Listeners.Unavailable unavailable ? unavailable.where()
                    : "the sockets passed (" + inherited.stream().map(InheritedSocket::how)
                            .collect(java.util.stream.Collectors.joining(", ")) + ")";
            err.println("forkserver: cannot listen on " + where + ": " + reason(e));
            return EXIT_FAILURE;
        } catch (IllegalArgumentException e) {
            throw usageError(e); // a broken --rules file
        }
        // An upgrade's successor runs as the user its predecessor dropped to already; setgroups
        // would be refused it.
        if (privileges != null && !(predecessor != null && privileges.held())) {
            if (!ProcessSettings.dropPrivileges(privileges, err)) {
                return EXIT_FAILURE; // nothing served yet; the exit closes what was opened
            }
            try {
                supervisor.rereadRulesAsThisUser();
            } catch (IllegalArgumentException e) {
                throw usageError(e);
            }
        }
        ProcessSettings.beforeServing(supervisor, err);
        if (predecessor != null) {
            supervisor.successorOf(predecessor);
        }
        supervisor.relaunchWith(Upgrade.Relaunch.of(arguments, System.getenv(), notify));
        Signals.onUpgrade(supervisor::upgrade);
        supervisor.serve();
        int leftBehind = supervisor.drain();
        return leftBehind == 0 && !supervisor.failed() ? EXIT_OK : EXIT_FAILURE;
    }

    /** A bad value, as picocli's usage error: one line naming the option, exit 2. */
    private ParameterException usageError(IllegalArgumentException e) {
        return new ParameterException(spec.commandLine(), e.getMessage(), e);
    }

    /** A failure to bind as one short reason: the C library's words ("Address already in use"). */
    private static String reason(IOException e) {
        Throwable cause = e instanceof Supervisor.MetricsUnavailable && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof forkserver.posix.ErrnoException errno) {
            return errno.reason();
        }
        return cause instanceof java.net.BindException && cause.getMessage() != null
                ? cause.getMessage().replaceFirst(" \\(Bind failed\\)$", "") : String.valueOf(cause.getMessage());
    }
}
