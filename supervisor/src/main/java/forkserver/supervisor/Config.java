package forkserver.supervisor;

import forkserver.supervisor.box.BoxLimits;
import forkserver.supervisor.box.ChildRlimit;

import forkserver.supervisor.admit.AdmissionPolicy;
import forkserver.supervisor.listen.ListenAddress;
import forkserver.supervisor.proxy.ProxyPolicy;
import forkserver.supervisor.spawn.ChildUsers;
import forkserver.supervisor.spawn.StdioMode;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * What a supervisor is asked to do, as plain values: the command line's meaning, without the
 * command line. Tests build one directly.
 *
 * @param listen        where to bind, in order (port 0: any free port); empty when an activator passed the sockets
 * @param backlog       the listen queue's length
 * @param command       the program and arguments run once per connection
 * @param stdio         which of the child's descriptors are the connection
 * @param maxChildren   children running at once, at most
 * @param shutdownGrace on SIGTERM/SIGINT, how long children may finish on their own
 * @param killGrace     after SIGTERM to the children, how long before SIGKILL
 * @param admission     who gets a child, and what happens to the others
 * @param maxLifetime   how long a child may run before it is stopped, or null
 * @param reusePort     SO_REUSEPORT: several supervisors may listen on one port
 * @param spares        worker processes kept started and waiting for a connection (0: none)
 * @param spareCommand  how a spare is started (the worker's command in spare mode); empty
 *                      without spares
 * @param proxy         {@code --proxy-protocol}: every connection starts with a PROXY header from
 *                      one of these peers; null without
 * @param metrics       where to serve the Prometheus metrics ({@code --metrics}), or null: none
 * @param boxing        what each connection's box holds it to ({@code --child-*-max}), its
 *                      rlimits, what becomes of what a child leaves behind, and the uids
 *                      children get
 */
public record Config(List<ListenAddress> listen, int backlog, List<String> command, StdioMode stdio, int maxChildren,
              Duration shutdownGrace, Duration killGrace, AdmissionPolicy admission, Duration maxLifetime,
              boolean reusePort, int spares, List<String> spareCommand, ProxyPolicy proxy, InetSocketAddress metrics,
              Boxing boxing) {

    /**
     * Per connection: the box's limits ({@link BoxLimits#NONE}: boxed without limits where the
     * host allows, to contain and account), {@code --child-rlimit}s, and {@code --leftovers}.
     * {@code dropsUser}: {@code --user} is given, and after the drop the supervisor could make no
     * box under root's cgroups: connections are not boxed, and a limit option is refused.
     * {@code users}: {@code --child-user-range}, a uid of its own for each child; null: children
     * run as the supervisor's user.
     */
    public record Boxing(BoxLimits limits, List<ChildRlimit> rlimits, Leftovers leftovers, boolean dropsUser,
                         ChildUsers.Range users) {

        /** Today's defaults: boxed where possible, no limits, leftovers stopped, children as the supervisor's user. */
        public static final Boxing DEFAULT = new Boxing(BoxLimits.NONE, List.of(), Leftovers.KILL, false, null);

        public Boxing {
            rlimits = List.copyOf(rlimits);
            String limitOptions = BoxLimits.MEMORY_OPTION + ", " + BoxLimits.TASKS_OPTION + " or " + BoxLimits.CPU_OPTION;
            if (leftovers == Leftovers.KEEP && limits.any()) {
                throw new IllegalArgumentException("--leftovers keep leaves connections unboxed, so it cannot go with "
                        + limitOptions);
            }
            if (dropsUser && users != null) {
                // After the drop the supervisor has no capability left to start a child as another user.
                throw new IllegalArgumentException(ChildUsers.OPTION + " cannot go with --user: the supervisor"
                        + " keeps root, or runs as its user with CAP_SETUID, CAP_SETGID and CAP_KILL (systemd's"
                        + " User= and AmbientCapabilities=)");
            }
            if (dropsUser && limits.any()) {
                throw new IllegalArgumentException("--user: after dropping root the supervisor can make no cgroup, so it"
                        + " cannot go with " + limitOptions + "; run it as a systemd service with User= and Delegate=yes");
            }
        }
    }

    /** {@code --leftovers}: what becomes of the processes a connection's child leaves behind. */
    public enum Leftovers {
        /** Stopped with the connection (SIGTERM, SIGKILL after --kill-grace), counted on its end line. */
        KILL,
        /** Left running, unboxed and uncounted, as inetd and tcpserver do. */
        KEEP
    }

    /** A Config with {@link Boxing#DEFAULT} (tests). */
    public Config(InetSocketAddress listen, int backlog, List<String> command, StdioMode stdio, int maxChildren,
                  Duration shutdownGrace, Duration killGrace, AdmissionPolicy admission, Duration maxLifetime,
                  boolean reusePort, int spares, List<String> spareCommand, ProxyPolicy proxy, InetSocketAddress metrics) {
        this(listen == null ? List.of() : List.of(new ListenAddress.Tcp(listen, null)), backlog, command, stdio,
                maxChildren, shutdownGrace, killGrace, admission, maxLifetime, reusePort, spares, spareCommand, proxy,
                metrics, Boxing.DEFAULT);
    }


    public Config {
        listen = List.copyOf(listen);
        command = List.copyOf(command);
        spareCommand = List.copyOf(spareCommand);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("no command to run");
        }
        if (maxChildren < 1) {
            throw new IllegalArgumentException("--max-children must be at least 1, got " + maxChildren);
        }
        if (maxLifetime != null && maxLifetime.isZero()) {
            throw new IllegalArgumentException("--max-lifetime must be longer than 0");
        }
        if (spares < 0) {
            throw new IllegalArgumentException("--spares must be 0 or more, got " + spares);
        }
        if (spares > 0 && spareCommand.isEmpty()) {
            throw new IllegalArgumentException("--spares needs the worker's command in spare mode");
        }
        if (spares > 0 && stdio != StdioMode.IN) {
            throw new IllegalArgumentException("--spares works with --stdio in only (forkserver's worker reads fd 0)");
        }
        if (backlog < 1) {
            throw new IllegalArgumentException("--backlog must be at least 1, got " + backlog);
        }
    }
}
