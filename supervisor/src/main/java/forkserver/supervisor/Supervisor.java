package forkserver.supervisor;

import forkserver.supervisor.base.Reason;
import forkserver.posix.ErrnoException;
import forkserver.supervisor.base.Failures;
import forkserver.supervisor.base.Failures.SpawnFailed;
import forkserver.supervisor.admit.AccessRules;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.admit.AdmissionPolicy;
import forkserver.supervisor.base.Backoff;
import forkserver.supervisor.base.RateLimit;
import forkserver.supervisor.admit.Rejector;
import forkserver.supervisor.admit.RuleFile;
import forkserver.supervisor.admit.SourceLimits;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.systemd.AcceptorHeartbeat;
import forkserver.supervisor.base.HostPort;
import forkserver.supervisor.listen.Handover;
import forkserver.supervisor.listen.InheritedSocket;
import forkserver.supervisor.listen.Listener;
import forkserver.supervisor.listen.Listeners;
import forkserver.supervisor.log.ChildStderr;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.log.LogLine;
import forkserver.supervisor.log.Totals;
import forkserver.supervisor.metrics.Metrics;
import forkserver.supervisor.metrics.MetricsEndpoint;
import forkserver.supervisor.proxy.ProxyStage;
import forkserver.supervisor.spawn.ChildProcess;
import forkserver.supervisor.spawn.ChildUsers;
import forkserver.supervisor.reap.Children;
import forkserver.supervisor.spares.HandOffs;
import forkserver.supervisor.spares.SpareWorker;
import forkserver.supervisor.spares.Spares;
import forkserver.supervisor.spawn.Spawner;
import forkserver.supervisor.systemd.Notifier;
import forkserver.supervisor.systemd.SystemdNotify;

import forkserver.supervisor.box.Box;
import forkserver.supervisor.box.Boxes;
import forkserver.supervisor.box.CgroupLayout;
import forkserver.supervisor.box.ChildRlimit;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The life of a connection, in order: the {@link Listeners} accept it once {@link Admission}
 * allows (behind a proxy, {@link ProxyStage} first reads its PROXY header and then awaits the
 * turn), a ready {@link Spares spare} takes it or the {@link Spawner} starts its child,
 * {@link Children}, the registry, logs it and handles its exit in one place, the
 * {@link EventLog} says so. {@link #serve()} runs that loop until {@link #stop}; {@link #drain()}
 * then stops the children.
 *
 * <p>Every failure on that path goes through {@link Failures}, which decides what it costs: the
 * connection at hand (closed, told why under {@code --over-limit reject}, logged), or the
 * supervisor (logged, drained, exit status 1). When starting children fails, accepting pauses
 * ({@link #FIRST_PAUSE}, doubling up to {@link #MAX_PAUSE}, none after a success) rather than
 * taking the whole backlog into the same failure.
 */
final class Supervisor implements HandOffs.Outcome {

    /** The first pause after a failure to start a child or to accept; it doubles up to {@link #MAX_PAUSE}. */
    static final Duration FIRST_PAUSE = Duration.ofMillis(20);
    static final Duration MAX_PAUSE = Duration.ofSeconds(1);

    /** How long the drain waits, once the children are gone, for the last of their stderr. */
    static final Duration STDERR_DRAIN = Duration.ofSeconds(1);

    /** The children's grace after an upgrade: as long as they run (a century, within Duration's nanoseconds). */
    static final Duration UNTIL_THEY_END = Duration.ofDays(36_500);

    /** How many sources the status line lists. */
    static final int STATUS_TOP_SOURCES = 5;

    private final Config config;
    private final EventLog log;
    private final Listeners listeners;
    private final Admission admission;
    private final Rejector rejector;
    private final Spawner spawner;
    private final ChildStderr stderr;
    private final Children children;
    private final Spares spares;
    private final ProxyStage proxyStage; // --proxy-protocol; null without
    private final Totals totals;
    private final Backoff spawnBackoff = new Backoff(FIRST_PAUSE, MAX_PAUSE);
    private final Backoff acceptBackoff = new Backoff(FIRST_PAUSE, MAX_PAUSE);
    // systemd's view (READY, STATUS, WATCHDOG while the acceptor lives): see Notifier.
    private final AcceptorHeartbeat heartbeat = new AcceptorHeartbeat();
    private final Notifier notifier;
    // null without --metrics; closed (null) while an upgrade's successor binds the same address
    private volatile MetricsEndpoint metrics;
    private String stopCause; // the signal (TERM, INT), "fatal" or "upgrade"; guarded by this
    private boolean upgrading; // SIGUSR2's successor is starting; guarded by this
    private Upgrade.Relaunch relaunch; // how to start a successor; null: no upgrade (a test's supervisor)
    private Handover.Predecessor predecessor; // set when this supervisor is an upgrade's successor
    private volatile boolean failed;
    private final String boxesLine; // the start-up line: whether and how connections are boxed

    private Supervisor(Config config, EventLog log, Listeners listeners, Spawner spawner, AccessRules rules,
                       SystemdNotify notify, ChildStderr stderr, Totals totals, Boxes boxes, String boxesLine)
            throws IOException {
        this.boxesLine = boxesLine;
        this.config = config;
        this.log = log;
        this.listeners = listeners;
        AdmissionPolicy policy = config.admission();
        RateLimit rate = policy.rate() == null ? null : new RateLimit(policy.rate(), System::nanoTime);
        this.admission = new Admission(config.maxChildren(), policy.overLimit(),
                new SourceLimits(policy.maxPerSource(), policy.ipv6SourcePrefix()), rate, rules, log);
        this.rejector = new Rejector(policy.overLimit() == Admission.OverLimit.REJECT ? policy.rejectMessage() : null);
        this.spawner = spawner;
        this.stderr = stderr;
        this.totals = totals;
        this.children = new Children(spawner, admission, totals, log, config.maxLifetime(), config.killGrace(), boxes,
                ChildRlimit.afterStart(config.boxing().rlimits()),
                config.boxing().users() == null ? null : new ChildUsers(config.boxing().users()));
        this.spares = new Spares(config.spares(), children::startSpare, children::foreground, log, this);
        this.proxyStage = config.proxy() == null ? null : new ProxyStage(config.proxy(), admission, new ProxyStage.Owner() {
            @Override
            public void admit(Accepted connection) {
                admitAndDispatch(connection);
            }

            @Override
            public void refuse(Accepted connection, Reason reason, String detail) {
                Supervisor.this.refuse(connection, reason, detail);
            }

            @Override
            public void healthChecked() {
                totals.countProxyHealthCheck();
            }
        });
        this.notifier = new Notifier(notify, heartbeat, this::statusText, () -> spares.ready() >= spares.target());
        this.metrics = config.metrics() == null ? null : startMetrics();
    }

    /** --metrics could not be served (its address in use, no permission): a start-up error. */
    static final class MetricsUnavailable extends IOException {

        private static final long serialVersionUID = 1L;

        MetricsUnavailable(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** The limits asked for cannot be had on this host (no write access, a controller missing): a start-up error. */
    static final class BoxesUnavailable extends IOException {

        private static final long serialVersionUID = 1L;

        BoxesUnavailable(String message) {
            super(message);
        }
    }

    /**
     * Connections' boxes as {@code boxing} asks: with limits, {@link Boxes} or a
     * {@link BoxesUnavailable} naming what is missing (one line); without, boxes where the host
     * allows them (to contain and account), else none (null), the reason in {@code line[0]}. With
     * {@code spares}, boxes are weighed where the host lets us ({@link Boxes#open(CgroupLayout, BoxLimits, boolean)}).
     */
    static Boxes openBoxes(Config.Boxing boxing, boolean spares, String[] line) throws BoxesUnavailable {
        if (boxing.leftovers() == Config.Leftovers.KEEP) {
            line[0] = "connections are not boxed: --leftovers keep";
            return null;
        }
        if (boxing.dropsUser()) {
            line[0] = "connections are not boxed: --user drops the root they need (run the supervisor as a systemd"
                    + " service with User= and Delegate=yes instead)";
            return null;
        }
        CgroupLayout layout = CgroupLayout.detect();
        try {
            Boxes boxes = Boxes.open(layout, boxing.limits(), spares);
            line[0] = boxes.describe();
            return boxes;
        } catch (IOException e) {
            if (boxing.limits().any()) {
                throw new BoxesUnavailable(e.getMessage());
            }
            line[0] = layout.boxable() ? "connections are not boxed: " + e.getMessage() : layout.describe();
            return null;
        }
    }

    /** Binds the metrics endpoint; only here are the Prometheus client's classes loaded. */
    private MetricsEndpoint startMetrics() throws MetricsUnavailable {
        Metrics.Sources sources = new Metrics.Sources(Main.VERSION, totals, admission::running, config.maxChildren(), spares::ready,
                config.spares());
        try {
            return MetricsEndpoint.start(config.metrics(), new Metrics(sources));
        } catch (IOException e) {
            throw new MetricsUnavailable(e);
        }
    }

    /**
     * Reads the access rules, binds the listening sockets (or takes over {@code inherited} when an
     * activator passed some; then {@code config.listen()} is not used) and prepares the spawner;
     * no connection is accepted until {@link #serve()}. {@code environment} is what every child
     * inherits, before the connection's own variables; {@code notify} is systemd's notification
     * socket (a no-op one without NOTIFY_SOCKET).
     *
     * @throws IllegalArgumentException when the rules file is broken (nothing is bound then)
     */
    static Supervisor open(Config config, List<InheritedSocket> inherited, Map<String, String> environment, EventLog log,
                           SystemdNotify notify) throws IOException {
        AccessRules rules;
        try {
            rules = config.admission().loadRules();
        } catch (RuleFile.Invalid e) {
            throw new IllegalArgumentException("--rules: " + e.getMessage(), e);
        }
        String[] boxesLine = new String[1];
        Boxes boxes = openBoxes(config.boxing(), config.spares() > 0, boxesLine);
        Listeners listeners;
        try {
            listeners = !inherited.isEmpty()
                    ? Listeners.inherit(inherited)
                    : Listeners.bind(config.listen(), config.backlog(), config.reusePort());
        } catch (IOException | RuntimeException e) {
            closeQuietly(boxes);
            throw e;
        }
        try {
            Totals totals = new Totals();
            ChildStderr stderr = new ChildStderr(log, totals);
            // A boxed child joins its box itself, and takes its rlimits, from a /bin/sh step before
            // it execs the command (one exec): placed by the supervisor after start() only, a
            // native program had read its client's line and forked before it was in its box. The
            // supervisor places it too (Children.contain), for a box whose name the variable
            // cannot carry, and sets the rlimits the shell cannot say. With --child-user-range, the
            // child takes its uid after that step (which needs the supervisor's rights to write the
            // box's files), right before the command.
            List<ChildRlimit> rlimits = config.boxing().rlimits();
            boolean wrapped = boxes != null || rlimits.size() > ChildRlimit.afterStart(rlimits).size();
            List<String> command = wrapped ? Box.selfPlacing(config.command(), rlimits) : config.command();
            List<String> spareCommand = wrapped && !config.spareCommand().isEmpty()
                    ? Box.selfPlacing(config.spareCommand(), rlimits) : config.spareCommand();
            Spawner spawner = new Spawner(command.size() - config.command().size(), command, spareCommand,
                    config.stdio(), environment, stderr);
            return new Supervisor(config, log, listeners, spawner, rules, notify, stderr, totals, boxes, boxesLine[0]);
        } catch (IOException | RuntimeException e) {
            listeners.close();
            closeQuietly(boxes);
            throw e;
        }
    }

    private static void closeQuietly(Boxes boxes) {
        if (boxes != null) {
            try {
                boxes.close();
            } catch (IOException e) {
                // Nothing was made in them yet: at worst the v2 leaf stays, as the supervisor exits.
            }
        }
    }

    /** Every socket it listens on, e.g. to hand them to a successor. */
    Listeners listeners() {
        return listeners;
    }

    /** Accepts and starts children until {@link #stop} is called, or a failure ends the supervisor. */
    void serve() {
        for (Listener listener : listeners.all()) {
            log.listening(listener.how(), listener.text(), listener.name(), config.maxChildren(),
                    String.join(" ", config.command()));
        }
        if (metrics != null) {
            log.metrics(HostPort.format(metrics.address()));
        }
        log.boxes(children.boxed(), boxesLine);
        for (ChildRlimit rlimit : config.boxing().rlimits()) {
            rlimit.warning().ifPresent(warning -> log.rlimitWarning(rlimit.toString(), warning));
        }
        StartupLimits.check(config, log);
        spares.start();
        if (proxyStage != null) {
            proxyStage.start();
        }
        if (predecessor == null) {
            notifier.start();
        } else {
            takeOver();
        }
        try {
            while (awaitTurn()) {
                Accepted connection;
                try {
                    connection = accept();
                } catch (ErrnoException e) {
                    if (!Listeners.isShortage(e)) {
                        throw e; // EBADF, EINVAL, ENOTSOCK: the listening socket is gone
                    }
                    Duration pause = acceptBackoff.failed();
                    log.acceptFailed(e.name(), e.getMessage(), pause);
                    admission.holdOff(pause);
                    continue;
                }
                if (connection == null) {
                    break;
                }
                acceptBackoff.succeeded();
                totals.countAccepted();
                if (proxyStage != null) {
                    proxyStage.submit(connection); // its header is read, and it is admitted, off this thread
                } else {
                    admitAndDispatch(connection);
                }
            }
        } catch (Throwable t) {
            fail("acceptor", t);
        } finally {
            heartbeat.stopped();
        }
    }

    /** How long a successor waits for its predecessor's "go" before it tells systemd it is ready anyway. */
    static final Duration GO_WAIT = Duration.ofSeconds(10);

    /** Called before {@link #serve()} in an upgrade's successor: {@code predecessor} handed over the sockets. */
    void successorOf(Handover.Predecessor predecessor) {
        this.predecessor = predecessor;
    }

    /** How SIGUSR2 starts a successor; without it SIGUSR2 is refused. */
    void relaunchWith(Upgrade.Relaunch relaunch) {
        this.relaunch = relaunch;
    }

    /**
     * The successor's side, just before its first accept: "ready" to the predecessor, which then
     * stops accepting and names this process systemd's main one; only after its "go" does the
     * notifier say READY=1 (systemd takes it only from the main process) and ping the watchdog.
     * Without "go" (the predecessor was stopped meanwhile, or died) this supervisor is not the
     * service: it stops as on SIGTERM ({@code stopping reason=abandoned}).
     */
    private void takeOver() {
        Handover.Predecessor from = predecessor;
        boolean said = sayReady(from);
        Thread.ofPlatform().daemon().name("forkserver-upgrade").start(() -> {
            boolean told;
            try {
                told = said && from.awaitGo(GO_WAIT);
            } catch (ErrnoException e) {
                told = false;
            }
            Failures.closeOwn(from.channel(), "the upgrade's channel");
            if (told) {
                notifier.start();
            } else {
                beginStopping("abandoned");
            }
        });
    }

    /** "ready", on the acceptor's thread, its loop next; false when the predecessor is gone (EPIPE, ECONNRESET). */
    private static boolean sayReady(Handover.Predecessor predecessor) {
        try {
            predecessor.ready();
            return true;
        } catch (ErrnoException e) {
            return false;
        }
    }

    /**
     * SIGUSR2: starts a successor on a thread of its own ({@link Upgrade}); refused in one line
     * while one is starting or while stopping. Safe from any thread.
     */
    void upgrade() {
        List<Handover.Passing> sockets;
        synchronized (this) {
            String refused = relaunch == null ? "no-command-line" : stopCause != null ? "stopping"
                    : upgrading ? "in-progress" : null;
            if (refused != null) {
                log.upgradeRefused(refused);
                return;
            }
            // Under this lock no stop has begun, so the drain has not closed the listener yet.
            try {
                sockets = Handover.copies(listeners.all());
            } catch (ErrnoException e) {
                log.upgradeFailed(0, "dup: " + e.name());
                return;
            }
            upgrading = true;
        }
        Thread.ofPlatform().daemon().name("forkserver-upgrade").start(() -> {
            try {
                upgradeNow(sockets);
            } finally {
                Handover.close(sockets);
            }
        });
    }

    private void upgradeNow(List<Handover.Passing> sockets) {
        notifier.reloading();
        // The successor binds --metrics itself (an HTTP server's socket is not passed): a gap of
        // the hand-over's length in the metrics rather than a successor that cannot start.
        MetricsEndpoint served = metrics;
        metrics = null;
        if (served != null) {
            served.close();
        }
        Upgrade.Outcome outcome = Upgrade.start(spawner, relaunch, sockets);
        if (outcome instanceof Upgrade.Ready ready) {
            synchronized (this) {
                if (stopCause != null) {
                    outcome = new Upgrade.Failed(ready.successor().pid(), "stopping meanwhile");
                    Failures.closeOwn(ready.channel(), "the upgrade's channel");
                    ready.successor().destroyForcibly(); // told no "go": not the service
                }
            }
        }
        switch (outcome) {
            case Upgrade.Failed failed -> {
                log.upgradeFailed(failed.pid(), failed.reason());
                if (served != null) {
                    try {
                        metrics = startMetrics();
                    } catch (MetricsUnavailable e) {
                        log.threadFailed("forkserver-metrics", "bind", e.getMessage()); // serving goes on without
                    }
                }
                notifier.reloaded();
                synchronized (this) {
                    upgrading = false;
                }
            }
            case Upgrade.Ready ready -> {
                // Its acceptor is at work (both accept for a moment: the kernel gives each
                // connection to one). systemd hears of the new main process from us while we
                // still are it, before "go" lets the successor say READY=1; then ours stops.
                notifier.handedOver(ready.successor().pid());
                listeners.handedOver(); // before "go": the successor may stop, and remove the files, at once
                ready.go();
                log.upgrade(ready.successor().pid(), ready.took(), children.count());
                beginStopping("upgrade");
            }
        }
    }

    /** {@link Listeners#accept()}, a wait point for the watchdog's {@link AcceptorHeartbeat}. */
    private Accepted accept() throws ErrnoException {
        heartbeat.waiting();
        try {
            return listeners.accept();
        } finally {
            heartbeat.busy();
        }
    }

    /**
     * {@link Admission#awaitTurn()}, or with {@code --proxy-protocol} a pause of accepting waited
     * out and room in the {@link ProxyStage} (the turn is awaited there, after the header: see
     * there why); a wait point for the watchdog's {@link AcceptorHeartbeat}. Either way a failed
     * accept's pause ({@link Admission#holdOff}) holds this thread up, not only admission.
     */
    private boolean awaitTurn() {
        heartbeat.waiting();
        try {
            return proxyStage == null ? admission.awaitTurn() : admission.awaitHoldOff() && proxyStage.awaitRoom();
        } finally {
            heartbeat.busy();
        }
    }

    /**
     * One accepted connection (behind a proxy: its header read): admitted by its real client's
     * address and given a process, or turned away. Costs nothing else.
     */
    private void admitAndDispatch(Accepted connection) {
        Admission.Ticket ticket = null;
        try {
            Admission.Verdict verdict = connection.unixPeer() != null ? admission.admit(connection.unixPeer())
                    : admission.admit(connection.remote().getAddress());
            switch (verdict) {
                case Admission.Verdict.Admitted admitted -> {
                    ticket = admitted.ticket();
                    dispatch(connection, ticket);
                }
                case Admission.Verdict.Rejected rejected -> refuse(connection, rejected.reason(), null);
            }
        } catch (Throwable t) {
            contain(connection, ticket, t);
        }
    }

    /**
     * The one way a connection is refused, whichever stage decided it: the client is told why
     * (under {@code --over-limit reject}; else closed without a word), and the refusal is counted
     * and logged under the reason's one name (the {@code reject} line, the status line, the
     * {@code forkserver_connections_rejected_total} metric).
     */
    private void refuse(Accepted connection, Reason reason, String detail) {
        rejector.reject(connection, reason);
        totals.rejected(reason.text);
        log.reject(connection.remoteText(), connection.localText(), connection.proxyText(), reason.text, detail,
                new LogLine.Count(admission.running(), admission.limit()));
    }

    /**
     * Gives an admitted connection its process: a ready spare (the hand-off settles the rest),
     * else a child spawned for it. From here on the connection and the ticket are taken care of.
     */
    private void dispatch(Accepted connection, Admission.Ticket ticket) {
        // Once: a spare gets them in its hand-off message, a spawned child in its environment.
        Map<String, String> variables = Spawner.connectionEnvironment(connection, ticket.environment());
        if (spares.target() > 0 && spares.offer(connection, ticket, variables)) {
            return;
        }
        ChildProcess child;
        try {
            child = children.spawn(connection, ticket, variables, spares.target() > 0 ? "spawn" : null);
        } catch (SpawnFailed e) {
            if (e.reason().equals(Reason.CHILD_USER_RANGE.text)) {
                admission.release(ticket); // as at -c under --over-limit reject: refused, no pause
                refuse(connection, Reason.CHILD_USER_RANGE, null);
            } else {
                spawnFailed(connection, ticket, e);
            }
            return;
        }
        // At once: while we hold a copy, the client would not see end of file when its child exits.
        connection.close();
        if (child.adopted()) {
            // Served, but the task limit is reached: the next spawn would fail, so pause as after a failure.
            Duration pause = spawnBackoff.failed();
            admission.holdOff(pause);
            log.taskLimit(child.pid(), pause);
        } else {
            spawnBackoff.succeeded();
        }
    }

    /** No child for this connection: it is refused (told why under reject), and accepting pauses. */
    private void spawnFailed(Accepted connection, Admission.Ticket ticket, SpawnFailed failure) {
        admission.release(ticket);
        Duration pause = spawnBackoff.failed();
        admission.holdOff(pause);
        log.spawnFailed(connection.remoteText(), connection.localText(), connection.proxyText(),
                failure.reason(), failure.getMessage(), new LogLine.Count(admission.running(), admission.limit()), pause);
        refuse(connection, Reason.SPAWN_FAILED, failure.reason());
    }

    /**
     * A failure on one connection's path: what it costs is {@link Failures}'s to say. The
     * connection's share (its descriptor, its ticket) is given back either way.
     */
    private void contain(Accepted connection, Admission.Ticket ticket, Throwable t) {
        Failures.Failure failure = Failures.of(t);
        if (ticket != null) {
            admission.release(ticket);
        }
        connection.close();
        if (failure.cost() == Failures.Cost.SUPERVISOR) {
            throw t instanceof Error error ? error : new Failures.Broken(failure.detail(), t);
        }
        log.connectionFailed(connection.remoteText(), failure.reason(), failure.detail());
    }

    @Override
    public void taken(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
        spares.handedOver(spare);
        connection.close(); // the spare has its own copy now
        children.started(spare.process, connection, ticket, "spare");
    }

    @Override
    public void returned(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
        spares.failed(spare);
        try {
            dispatch(connection, ticket); // the next ready spare, or a spawn
        } catch (Throwable t) {
            contain(connection, ticket, t);
        }
    }

    @Override
    public void lost(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
        spares.failed(spare);
        admission.release(ticket);
        refuse(connection, Reason.HANDOFF_FAILED, "the spare acknowledged only as it was killed");
    }

    /**
     * SIGHUP: reads the rules again and uses them for the next connection; open connections
     * keep their children. A broken file changes nothing but the log line that says why.
     */
    void reloadRules() {
        AdmissionPolicy policy = config.admission();
        notifier.reloading();
        try {
            if (policy.rulesFile() == null) {
                log.reloadSkipped("no-rules-file"); // the command line's rules cannot change
                return;
            }
            AccessRules rules = policy.loadRules();
            admission.rules(rules);
            log.reloaded(policy.rulesFile().toString(), rules.size());
        } catch (RuleFile.Invalid e) {
            log.reloadFailed(e.getMessage());
        } finally {
            notifier.reloaded();
        }
    }

    /**
     * After privileges are dropped, before serving: the rules file read again as the user every
     * reload will read it as, and used, so that the rules in force never depend on a read only
     * root could make (a file root alone may read would otherwise serve until the first SIGHUP).
     *
     * @throws IllegalArgumentException when that user cannot read it, or it is broken now
     */
    void rereadRulesAsThisUser() {
        AdmissionPolicy policy = config.admission();
        if (policy.rulesFile() == null) {
            return;
        }
        try {
            admission.rules(policy.loadRules());
        } catch (RuleFile.Invalid e) {
            throw new IllegalArgumentException("--rules, read as the user the supervisor runs as: " + e.getMessage(), e);
        }
    }

    /** systemd's STATUS= line: {@code children 3/40, spares 4/4, accepted 120, rejected 2}. */
    String statusText() {
        Map<String, Long> rejected = totals.rejectedByReason();
        return "children " + admission.running() + "/" + admission.limit()
                + (spares.target() > 0 ? ", spares " + spares.ready() + "/" + spares.target() : "")
                + ", accepted " + totals.accepted()
                + ", rejected " + rejected.values().stream().mapToLong(Long::longValue).sum();
    }

    /** SIGUSR1: logs the children now, the busiest sources, and the totals since start. */
    void logStatus() {
        log.status(new LogLine.Count(admission.running(), admission.limit()),
                spares.target() > 0 ? new LogLine.Count(spares.ready(), spares.target()) : null,
                admission.topSources(STATUS_TOP_SOURCES), totals.accepted(),
                proxyStage == null ? null : totals.proxyHealthChecks(), totals.rejectedByReason(), totals.exitedByStatus(),
                children.boxed() ? new EventLog.BoxTotals(Duration.ofNanos(Math.round(totals.childCpu().sum() * 1e9)),
                        totals.memoryPeakMax(), totals.oomKills(), totals.leftovers()) : null);
    }

    /**
     * SIGTERM or SIGINT: stops accepting; {@link #serve()} returns soon after. Each further
     * signal cuts the drain short by one step: the shutdown grace, then the kill grace. Safe
     * from any thread.
     */
    void stop(String signal) {
        if (!beginStopping(signal)) {
            log.hurry(signal, children.hurry());
        }
    }

    /**
     * The supervisor cannot go on ({@code where}: the thread that failed): one log line, then it
     * stops as on SIGTERM and {@link #failed()} says so, for exit status 1.
     */
    /**
     * What escaped {@code thread} uncaught: the supervisor's end ({@link #fail}), or on a side
     * thread ({@link Failures#SIDE_THREADS}) one {@code thread-failed} line, that thread's end.
     */
    void uncaught(String thread, Throwable t) {
        if (Failures.endsSupervisor(thread, t)) {
            fail(thread, t);
            return;
        }
        Failures.Failure failure = Failures.of(t);
        log.threadFailed(thread, failure.reason(), failure.detail());
    }

    void fail(String where, Throwable t) {
        Failures.Failure failure = Failures.of(t);
        log.fatal(where, failure.reason(), failure.detail());
        failed = true;
        beginStopping("fatal");
    }

    /** Stops accepting, for {@code cause}; false when stopping had begun already. */
    private boolean beginStopping(String cause) {
        synchronized (this) {
            if (stopCause != null) {
                return false;
            }
            stopCause = cause;
        }
        admission.close();
        if (proxyStage != null) {
            proxyStage.close();
        }
        listeners.wakeUp();
        return true;
    }

    /** Whether a failure ended the supervisor (exit status 1). */
    boolean failed() {
        return failed;
    }

    /**
     * After {@link #serve()} returned: refuses new clients (a socket we bound is closed now),
     * gives the children the shutdown grace, then stops them, and closes the listening socket.
     * Returns how many processes were left behind (0 normally).
     */
    int drain() throws IOException {
        listeners.stopListening(); // after an upgrade, only our descriptors: the successor holds the sockets
        String cause;
        synchronized (this) {
            cause = stopCause;
        }
        boolean upgraded = cause.equals("upgrade");
        log.stopping(cause, children.count(), upgraded ? null : config.shutdownGrace());
        if (!upgraded) {
            notifier.stopping(); // after an upgrade the service goes on, in the successor
        }
        if (proxyStage != null) {
            proxyStage.awaitStopped(); // before the drain: no child may start after it
        }
        spares.stop(config.killGrace()); // idle: nothing to drain; hand-offs in flight are settled
        // After an upgrade the sessions run to their end (a SIGTERM hurries them as in any drain).
        int leftBehind = children.stopAll(upgraded ? UNTIL_THEY_END : config.shutdownGrace(), config.killGrace());
        stderr.awaitAllClosed(STDERR_DRAIN); // the children's last lines before "stopped"
        try {
            children.close(); // every box removed: none outlives the supervisor
        } catch (IOException e) {
            log.boxFailed(ProcessHandle.current().pid(), "close", e.getMessage());
            leftBehind++;
        }
        listeners.close();
        MetricsEndpoint served = metrics;
        if (served != null) {
            served.close();
        }
        log.stopped(leftBehind);
        return leftBehind;
    }
}
