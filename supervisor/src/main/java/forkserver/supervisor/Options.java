package forkserver.supervisor;

import forkserver.posix.Durations;
import forkserver.supervisor.box.BoxLimits;
import forkserver.supervisor.box.ChildRlimit;
import forkserver.supervisor.box.CpuPercent;
import forkserver.supervisor.box.MemorySize;
import forkserver.supervisor.box.TasksMax;
import forkserver.supervisor.admit.AccessRules;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.admit.AdmissionPolicy;
import forkserver.supervisor.admit.Cidr;
import forkserver.supervisor.base.RateLimit;
import forkserver.supervisor.admit.Rejector;
import forkserver.supervisor.admit.SourceLimits;
import forkserver.supervisor.base.HostPort;
import forkserver.supervisor.listen.InheritedSocket;
import forkserver.supervisor.listen.ListenAddress;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.proxy.ProxyPolicy;
import forkserver.supervisor.spawn.ChildUsers;
import forkserver.supervisor.spawn.StdioMode;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The command line's options as picocli reads them ({@link Main} mixes them in, so its model,
 * hence {@code --help}, the man page, the bash completion and docs/reference.md, has them all),
 * and what they mean as plain values: a {@link Config}, the children's environment, the identity
 * to drop to, the log. A bad value is an IllegalArgumentException naming its option, which Main
 * makes a usage error; nothing here changes the process. A test parses into one directly.
 */
final class Options {

    static final String DEFAULT_LISTEN = "127.0.0.1:9090";

    // No picocli default: given together with sockets from an activator, it is a usage error.
    @Option(names = {"-l", "--listen"}, paramLabel = "ADDRESS",
            description = "Address to listen on: HOST:PORT (IPv6 in brackets, [::1]:9090; port 0 picks a free one),"
                    + " unix:PATH or unix:@NAME (abstract); then ,name=NAME (the children's FORKSERVER_LISTENER) and,"
                    + " for a socket file, ,mode=0660 ,owner=USER ,group=GROUP. Repeatable: every listener shares"
                    + " the limits, rules and metrics. Default: " + DEFAULT_LISTEN + ", unless systemd (LISTEN_FDS)"
                    + " or inetd (a listening socket on fd 0) passed the sockets.")
    private List<String> listen = List.of();

    @Option(names = {"-c", "--max-children"}, paramLabel = "N", defaultValue = "40",
            description = "Children running at once, at most; at the limit new clients wait in the backlog."
                    + " Default: ${DEFAULT-VALUE}.")
    private int maxChildren;

    // No picocli default: it depends on COMMAND (see config()).
    @Option(names = "--stdio", paramLabel = "MODE",
            description = "in: the connection is the child's fd 0 (inetd, our worker; fd 1 is /dev/null); inout:"
                    + " fd 0 and 1, as tcpserver does, for programs that read stdin and write stdout. Default: in for"
                    + " forkserver's worker, inout with a COMMAND.")
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

    @Option(names = {"-C", "--max-per-source"}, paramLabel = "N",
            description = "Children at once from one client source (an IPv4 address, an IPv6 network of"
                    + " --ipv6-source-prefix bits, a UNIX client's user); more are rejected (reason max-per-source)."
                    + " Default: no limit.")
    private Integer maxPerSource;

    @Option(names = "--ipv6-source-prefix", paramLabel = "BITS",
            defaultValue = "" + AdmissionPolicy.DEFAULT_IPV6_SOURCE_PREFIX,
            description = "How much of an IPv6 client's address makes its source for -C. Default: ${DEFAULT-VALUE}.")
    private int ipv6SourcePrefix;

    @Option(names = "--rate", paramLabel = "N/DURATION",
            description = "A token bucket on new connections: bursts of N, N more per DURATION (e.g. 50/1s)."
                    + " When dry the supervisor pauses accepting (or rejects, reason rate) until tokens return.")
    private String rate;

    @Option(names = "--over-limit", paramLabel = "wait|reject", defaultValue = "wait",
            description = "At --max-children or the --rate: wait (clients stay in the backlog) or reject (accept,"
                    + " write --reject-message, close, log the reason). Default: ${DEFAULT-VALUE}.")
    private String overLimit;

    @Option(names = "--reject-message", paramLabel = "TEXT", defaultValue = Rejector.DEFAULT_MESSAGE,
            description = "The line a rejected client reads with --over-limit reject ({reason} is replaced,"
                    + " CRLF is added). Default: '${DEFAULT-VALUE}'.")
    private String rejectMessage;

    // --allow and --deny are setters so that their order on the command line is kept: first match wins.
    private final List<String[]> ruleOptions = new ArrayList<>();

    // The label has no brackets: the man page's synopsis (AsciiDoc, generated from these
    // annotations) cannot nest them.
    @Option(names = "--allow", paramLabel = "BLOCK VAR=VALUE...", parameterConsumer = AllowWords.class,
            description = "Allow clients in BLOCK (10.0.0.0/8, ::1, ...; UNIX clients by uid:ID or gid:ID, a name or a"
                    + " number), setting the variables that follow it, if any"
                    + " (--allow 10.0.0.0/8 ZONE=internal), for their children. Repeatable; with --deny and then"
                    + " --rules, the first match wins.")
    private void allow(String rule) {
        ruleOptions.add(new String[] {"--allow", rule});
    }

    /**
     * {@code --allow BLOCK [VAR=VALUE...]} as the README writes it: the block, then every word
     * after it that is a variable's assignment, up to the next option or the first other word
     * (COMMAND, which cannot be an assignment: it must name a program). One quoted word
     * ({@code --allow "10.0.0.0/8 ZONE=x"}) works too.
     */
    static final class AllowWords implements CommandLine.IParameterConsumer {

        private static final java.util.regex.Pattern ASSIGNMENT = java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z0-9_]*=.*");

        @Override
        public void consumeParameters(java.util.Stack<String> args, CommandLine.Model.ArgSpec argSpec,
                                      CommandSpec commandSpec) {
            if (args.isEmpty()) {
                throw new ParameterException(commandSpec.commandLine(), "Missing required parameter for option '--allow'"
                        + " (BLOCK [VAR=VALUE...])");
            }
            StringBuilder rule = new StringBuilder(args.pop());
            while (!args.isEmpty() && ASSIGNMENT.matcher(args.peek()).matches()) {
                rule.append(' ').append(args.pop());
            }
            argSpec.setValue(rule.toString());
        }
    }

    @Option(names = "--deny", paramLabel = "BLOCK",
            description = "Deny clients in BLOCK (as --allow: an address, a block, uid:ID or gid:ID): closed at once"
                    + " (reason denied). Repeatable.")
    private void deny(String rule) {
        ruleOptions.add(new String[] {"--deny", rule});
    }

    @Option(names = "--rules", paramLabel = "FILE",
            description = "Rules, one a line: 'allow BLOCK [VAR=VALUE...]' or 'deny BLOCK', # comments; after"
                    + " --allow/--deny. SIGHUP re-reads it; a broken file keeps the rules in force.")
    private Path rulesFile;

    @Option(names = "--default-policy", paramLabel = "allow|deny", defaultValue = "allow",
            description = "For clients no rule matches. Default: ${DEFAULT-VALUE}.")
    private String defaultPolicy;

    @Option(names = "--max-lifetime", paramLabel = "DURATION",
            description = "A child still running after DURATION gets SIGTERM, then SIGKILL after --kill-grace"
                    + " (logged with reason max-lifetime). Default: no limit.")
    private String maxLifetime;

    @Option(names = "--idle-timeout", paramLabel = "DURATION",
            description = "Passed to forkserver's worker (FORKSERVER_IDLE_TIMEOUT): it closes a connection whose"
                    + " client sent nothing for DURATION. Default: none.")
    private String idleTimeout;

    @Option(names = "--spares", paramLabel = "N", defaultValue = "0",
            description = "Keep N worker processes started, warm and waiting; a connection is handed to one"
                    + " (descriptor passing) and a replacement starts once connections pause (150 ms). With no"
                    + " spare ready a child is"
                    + " spawned as usual. Needs the default COMMAND (forkserver's worker). Default: ${DEFAULT-VALUE}.")
    private int spares;

    @Option(names = "--handler", paramLabel = "CLASS",
            description = "The handler forkserver's worker runs: echo, or a class that implements"
                    + " forkserver.handler.Handler on FORKSERVER_WORKER_CLASSPATH; checked at start-up (exit 2 when"
                    + " the worker cannot load it). Needs the default COMMAND. Default: FORKSERVER_HANDLER, else echo.")
    private String handler;

    @Option(names = "--handler-arg", paramLabel = "ARG",
            description = "An argument for the handler (Connection.arguments()); repeat it for more, in order.")
    private List<String> handlerArguments = List.of();

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "Speak TLS: the worker's certificate chain (PEM, the server's first). Needs --tls-key and the"
                    + " default COMMAND; the handler sees plaintext. Checked at start-up.")
    private String tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "The certificate's private key (PEM, PKCS#8, unencrypted).")
    private String tlsKey;

    @Option(names = "--tls-client-ca", paramLabel = "FILE",
            description = "Require a client certificate signed by one of these CAs (PEM).")
    private String tlsClientCa;

    @Option(names = "--tls-handshake-timeout", paramLabel = "DURATION",
            description = "How long a client may take to complete the TLS handshake. Default: 10s.")
    private String tlsHandshakeTimeout;

    // A box (cgroup) per connection.
    @Option(names = BoxLimits.MEMORY_OPTION, paramLabel = "SIZE",
            description = "Each connection's processes together may use at most SIZE of memory (64M, 1G; no swap"
                    + " beyond it); over it the kernel's OOM killer kills in that connection's box only (end line:"
                    + " oom-kill=1). Needs a delegated cgroup (Delegate=yes) or root. Default: no limit.")
    private String childMemoryMax;

    @Option(names = BoxLimits.TASKS_OPTION, paramLabel = "N",
            description = "Each connection's processes and threads together, at most N (a fork bomb stays in its"
                    + " box). Needs a delegated cgroup (Delegate=yes) or root. Default: no limit.")
    private String childTasksMax;

    @Option(names = BoxLimits.CPU_OPTION, paramLabel = "PERCENT",
            description = "Each connection's processes together get at most PERCENT of one core (50%% is half a core,"
                    + " 200%% two cores). Needs a delegated cgroup (Delegate=yes) or root. Default: no limit.")
    private String childCpuMax;

    // No brackets in the label (NAME=SOFT[:HARD]): the man page's synopsis cannot nest them.
    @Option(names = ChildRlimit.OPTION, paramLabel = "NAME=LIMIT",
            description = "A resource limit set on each connection's child before its command runs, as xinetd's"
                    + " rlimit_*: nofile, core, cpu, fsize, nproc or as; LIMIT is SOFT or SOFT:HARD, each a number, 64M for sizes, or"
                    + " unlimited. Per process, not per"
                    + " connection; 'as' makes a JVM fail to start. Repeatable.")
    private List<String> childRlimits = new ArrayList<>();

    @Option(names = "--leftovers", paramLabel = "kill|keep", defaultValue = "kill",
            description = "What becomes of processes a connection's child leaves running when it exits: kill (where"
                    + " connections are boxed: SIGTERM, SIGKILL after --kill-grace; the end line says leftovers=N) or keep (left"
                    + " running and unboxed, as inetd does; no --child-*-max then). Default: ${DEFAULT-VALUE}.")
    private String leftovers;

    @Option(names = ChildUsers.OPTION, paramLabel = "FIRST-LAST",
            description = "Each connection's child (and each spare) runs as a uid and gid of its own from FIRST to LAST,"
                    + " given again only once its last process is gone: connections cannot signal, trace or read each"
                    + " other or the supervisor. Needs root, or CAP_SETUID, CAP_SETGID and CAP_KILL, and setpriv"
                    + " (util-linux); no --user. All held: reason child-user-range. Default: children run as the"
                    + " supervisor's user.")
    private String childUserRange;

    @Option(names = "--reuse-port",
            description = "SO_REUSEPORT: several supervisors may listen on the same port; the kernel spreads"
                    + " connections among them.")
    private boolean reusePort;

    // --proxy-protocol (issue 11): the real client's address comes from a PROXY header.
    @Option(names = "--proxy-protocol",
            description = "Every connection on a TCP listener starts with a PROXY protocol header (v1 or v2, HAProxy's send-proxy"
                    + " or send-proxy-v2) from a peer in --proxy-from; the client it names is the remote for"
                    + " admission, the child and the log. Bad header: reason proxy-header.")
    private boolean proxyProtocol;

    @Option(names = "--proxy-from", paramLabel = "BLOCK",
            description = "A proxy's address or block (as --allow writes it); repeatable, required with"
                    + " --proxy-protocol. Other peers are refused unread (reason proxy-untrusted).")
    private List<String> proxyFrom = new ArrayList<>();

    @Option(names = "--proxy-timeout", paramLabel = "DURATION",
            description = "How long a PROXY header may take to arrive; later: reason proxy-timeout."
                    + " Default: 5s.")
    private String proxyTimeout;

    @Option(names = "--log-format", paramLabel = "text|json", defaultValue = "text",
            description = "text: 'forkserver: EVENT key=value ...'; json: one object a line. Default: ${DEFAULT-VALUE}.")
    private String logFormat;

    @Option(names = "--metrics", paramLabel = "HOST:PORT",
            description = "Serve Prometheus metrics (GET /metrics) on HOST:PORT; port 0 picks one, logged as"
                    + " 'metrics on HOST:PORT'. Keep it on loopback or a private network. Default: off.")
    private String metrics;

    @Option(names = "--log-timestamps",
            description = "Each log line gets the time (time=2026-01-31T12:00:00.000Z, UTC), for a log written to a"
                    + " file; the journal and svlogd add their own. Default: off.")
    private boolean logTimestamps;

    @Option(names = "--user", paramLabel = "NAME",
            description = "After binding, run as this user (and its group) from then on, children included;"
                    + " the supervisor refuses to start if it cannot.")
    private String user;

    @Option(names = "--group", paramLabel = "NAME",
            description = "After binding, run as this group (default with --user: the user's primary group).")
    private String group;

    @Parameters(paramLabel = "COMMAND", arity = "0..*",
            description = "Program and arguments to run per connection (after --, or after the first"
                    + " non-option word). Default: forkserver's worker.")
    private List<String> command = List.of();

    /**
     * The sockets systemd or inetd passed, if any; one that cannot be served, or sockets given
     * with {@code --listen}, is a bad value.
     */
    List<InheritedSocket> inheritedSockets(Map<String, String> environment) throws IOException {
        List<InheritedSocket> inherited = InheritedSocket.detect(environment, ProcessHandle.current().pid());
        if (!inherited.isEmpty() && !listen.isEmpty()) {
            throw new IllegalArgumentException("--listen " + listen.getFirst() + " given, but the socket"
                    + " was passed by the activator (" + inherited.getFirst().how() + "); drop one of the two");
        }
        return inherited;
    }

    /**
     * The options as a {@link Config}; a bad value is an IllegalArgumentException naming the
     * option. With inherited sockets there is no address to bind.
     */
    Config config(Map<String, String> environment, List<InheritedSocket> inherited) {
        List<ListenAddress> addresses = inherited.isEmpty() ? listenAddresses() : List.of();
        // With a COMMAND, tcpserver's convention: the program reads and writes the connection. Its
        // fd 1 is never the supervisor's stdout either way (Spawner), so no client byte reaches the log.
        String stdioMode = stdio != null ? stdio : command.isEmpty() ? "in" : "inout";
        StdioMode mode = switch (stdioMode) {
            case "in" -> StdioMode.IN;
            case "inout" -> StdioMode.INOUT;
            default -> throw new IllegalArgumentException("--stdio must be 'in' or 'inout', got '" + stdio + "'");
        };
        if (spares > 0 && !command.isEmpty()) {
            throw new IllegalArgumentException("--spares needs forkserver's worker as COMMAND (give no COMMAND;"
                    + " choose its handler with FORKSERVER_HANDLER): a spare must take its connection through"
                    + " forkserver's launcher, and '" + command.getFirst() + "' is not it");
        }
        boolean tls = WorkerTls.addTo(environment, tlsCert, tlsKey, tlsClientCa, tlsHandshakeTimeout, command.isEmpty());
        if (tls) {
            WorkerTls.refuseUnixSockets(java.util.stream.Stream.concat(
                    addresses.stream().filter(ListenAddress.Unix.class::isInstance).map(ListenAddress::text),
                    inherited.stream().filter(InheritedSocket::unix).map(InheritedSocket::how)).toList());
        }
        WorkerHandler workerHandler = WorkerHandler.choose(handler, handlerArguments, command.isEmpty(), environment);
        List<String> argv = command.isEmpty()
                ? workerHandler.checkedCommand(DefaultWorker.command(DefaultWorker.home()), environment, tls)
                : Commands.resolve(command, environment.get("PATH"));
        return new Config(addresses, backlog != null ? backlog : somaxconn(), argv, mode, maxChildren,
                duration("--shutdown-grace", shutdownGrace), duration("--kill-grace", killGrace),
                admissionPolicy(), maxLifetime == null ? null : duration("--max-lifetime", maxLifetime), reusePort,
                spares, spares > 0 ? workerHandler.command(DefaultWorker.command(DefaultWorker.home(), true)) : List.of(),
                proxyPolicy(),
                metrics == null ? null : option("--metrics", () -> HostPort.parse(metrics)), boxing());
    }

    /** --child-memory-max, --child-tasks-max, --child-cpu-max, --child-rlimit and --leftovers. */
    private Config.Boxing boxing() {
        BoxLimits limits = new BoxLimits(
                childMemoryMax == null ? null : option(BoxLimits.MEMORY_OPTION, () -> MemorySize.parse(childMemoryMax)),
                childTasksMax == null ? null : option(BoxLimits.TASKS_OPTION, () -> TasksMax.parse(childTasksMax)),
                childCpuMax == null ? null : option(BoxLimits.CPU_OPTION, () -> CpuPercent.parse(childCpuMax)));
        List<ChildRlimit> rlimits = new ArrayList<>();
        for (String rlimit : childRlimits) {
            rlimits.add(option(ChildRlimit.OPTION, () -> ChildRlimit.parse(rlimit)));
        }
        return new Config.Boxing(limits, rlimits, choice("--leftovers", leftovers, Config.Leftovers.class), user != null,
                childUserRange == null ? null : option(ChildUsers.OPTION, this::childUserRange));
    }

    /**
     * --child-user-range, checked against this supervisor: never its own uid, and it must be
     * able to start children as others (and signal them) and find setpriv.
     */
    private ChildUsers.Range childUserRange() {
        ChildUsers.Range range = ChildUsers.Range.parse(childUserRange);
        int own = forkserver.posix.Posix.effectiveIds()[0];
        if (range.contains(own)) {
            throw new IllegalArgumentException("the range " + range + " includes uid " + own + ", the supervisor's own");
        }
        List<String> missing = Privileges.missingCapabilities(Privileges.CHILD_USER_CAPABILITIES);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("the supervisor (uid " + own + ") lacks " + String.join(", ", missing)
                    + " to start children as other users and stop them: run it as root, or give it those capabilities");
        }
        if (!Files.isExecutable(Path.of(ChildUsers.SETPRIV))) {
            throw new IllegalArgumentException(ChildUsers.SETPRIV + " (util-linux) is missing: it gives each child its uid");
        }
        return range;
    }

    /** --proxy-protocol, --proxy-from, --proxy-timeout as a {@link ProxyPolicy}; null without --proxy-protocol. */
    private ProxyPolicy proxyPolicy() {
        if (!proxyProtocol) {
            if (!proxyFrom.isEmpty() || proxyTimeout != null) {
                throw new IllegalArgumentException((proxyFrom.isEmpty() ? "--proxy-timeout" : "--proxy-from")
                        + " needs --proxy-protocol");
            }
            return null;
        }
        List<Cidr> trusted = new ArrayList<>();
        for (String block : proxyFrom) {
            trusted.add(option("--proxy-from", () -> Cidr.parse(block.trim())));
        }
        return new ProxyPolicy(trusted,
                proxyTimeout == null ? ProxyPolicy.DEFAULT_TIMEOUT : duration("--proxy-timeout", proxyTimeout));
    }

    /** The addresses to bind, in order; each path or address once. */
    private List<ListenAddress> listenAddresses() {
        List<ListenAddress> addresses = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String text : listen.isEmpty() ? List.of(DEFAULT_LISTEN) : listen) {
            ListenAddress address = option("--listen", () -> ListenAddress.parse(text));
            String key = switch (address) {
                case ListenAddress.Tcp tcp -> HostPort.format(tcp.address());
                case ListenAddress.Unix unix -> unix.path();
            };
            if (!key.endsWith(":0") && !seen.add(key)) {
                throw new IllegalArgumentException("--listen " + key + " given twice");
            }
            addresses.add(address);
        }
        return addresses;
    }

    private AdmissionPolicy admissionPolicy() {
        List<AccessRules.Rule> rules = new ArrayList<>();
        for (String[] option : ruleOptions) {
            AccessRules.Action action = option[0].equals("--allow") ? AccessRules.Action.ALLOW : AccessRules.Action.DENY;
            rules.add(option(option[0], () -> AccessRules.parse(action, option[1], option[0])));
        }
        return new AdmissionPolicy(maxPerSource == null ? SourceLimits.UNLIMITED : maxPerSource, ipv6SourcePrefix,
                rate == null ? null : RateLimit.Spec.parse(rate),
                choice("--over-limit", overLimit, Admission.OverLimit.class), rejectMessage, rules, rulesFile,
                choice("--default-policy", defaultPolicy, AccessRules.Action.class));
    }

    /** The supervisor's environment for its children, with --idle-timeout for the worker. */
    Map<String, String> childEnvironment(Map<String, String> inherited) {
        Map<String, String> environment = new java.util.HashMap<>(inherited);
        if (idleTimeout == null) {
            return environment;
        }
        environment.put("FORKSERVER_IDLE_TIMEOUT", duration("--idle-timeout", idleTimeout).toMillis() + "ms");
        return environment;
    }

    /** {@code --user} and {@code --group}, looked up; null when neither is given. */
    Privileges privileges() {
        return Privileges.resolve(user, group);
    }

    /** The log on {@code err}, as {@code --log-format} and {@code --log-timestamps} ask. */
    EventLog log(PrintStream err) {
        return new EventLog(err, choice("--log-format", logFormat, EventLog.Format.class), logTimestamps);
    }

    /** {@code text} as one of {@code type}'s constants, named in lower case on the command line. */
    private static <E extends Enum<E>> E choice(String option, String text, Class<E> type) {
        for (E constant : type.getEnumConstants()) {
            if (constant.name().toLowerCase(java.util.Locale.ROOT).equals(text)) {
                return constant;
            }
        }
        List<String> names = java.util.Arrays.stream(type.getEnumConstants())
                .map(c -> "'" + c.name().toLowerCase(java.util.Locale.ROOT) + "'").toList();
        throw new IllegalArgumentException(option + " must be " + String.join(" or ", names) + ", got '" + text + "'");
    }

    /** {@code parse}'s value, its IllegalArgumentException prefixed with the option's name. */
    private static <T> T option(String option, java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }

    private static Duration duration(String option, String text) {
        return option(option, () -> Durations.parse(text));
    }

    static final Path SOMAXCONN = Path.of("/proc/sys/net/core/somaxconn");
    /** The backlog when the kernel's cap cannot be read (Linux's default since 5.4). */
    static final int SOMAXCONN_FALLBACK = 4096;

    /** The kernel's cap on a listen queue, or {@link #SOMAXCONN_FALLBACK}; asking for more is silently truncated to it anyway. */
    static int somaxconn() {
        return readSomaxconn(SOMAXCONN).orElse(SOMAXCONN_FALLBACK);
    }

    /**
     * The number in {@code file}, read by lines: {@code Files.readString} trusts the size /proc
     * reports and returned "4" of "4096", which made a backlog of 4 (a burst of clients then
     * waited for SYN retransmissions). Empty when it cannot be read.
     */
    static OptionalInt readSomaxconn(Path file) {
        try {
            return OptionalInt.of(Integer.parseInt(Files.readAllLines(file).getFirst().strip()));
        } catch (IOException | RuntimeException e) {
            return OptionalInt.empty();
        }
    }
}
