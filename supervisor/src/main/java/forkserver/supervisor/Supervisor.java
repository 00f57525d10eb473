package forkserver.supervisor;

import forkserver.posix.ErrnoException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;

/**
 * The life of a connection, in order: the {@link Listener} accepts it once {@link Admission}
 * allows (behind a proxy, {@link ProxyStage} first reads its PROXY header and then awaits the
 * turn), a ready {@link Spares spare} takes it or the {@link Spawner} starts its child,
 * {@link Children} reaps and logs it, the
 * {@link EventLog} says so. {@link #serve()} runs that loop until {@link #stop}; {@link #drain()}
 * then stops the children.
 */
final class Supervisor {

    /** How long the acceptor pauses after a temporary failure such as running out of descriptors. */
    static final Duration ACCEPT_RETRY_PAUSE = Duration.ofMillis(100);

    /** How many sources the status line lists. */
    static final int STATUS_TOP_SOURCES = 5;

    private final Config config;
    private final EventLog log;
    private final Listener listener;
    private final Admission admission;
    private final Rejector rejector;
    private final Spawner spawner;
    private final Children children;
    private final Spares spares;
    private final ProxyStage proxyStage; // --proxy-protocol (issue 11); null without
    private final Totals totals = new Totals();
    private volatile String stopSignal;

    private Supervisor(Config config, EventLog log, Listener listener, Spawner spawner, AccessRules rules)
            throws IOException {
        this.config = config;
        this.log = log;
        this.listener = listener;
        AdmissionPolicy policy = config.admission();
        RateLimit rate = policy.rate() == null ? null : new RateLimit(policy.rate(), System::nanoTime);
        this.admission = new Admission(config.maxChildren(), policy.overLimit(),
                new SourceLimits(policy.maxPerSource(), policy.ipv6SourcePrefix()), rate, rules, log);
        this.rejector = new Rejector(policy.overLimit() == Admission.OverLimit.REJECT ? policy.rejectMessage() : null);
        this.spawner = spawner;
        this.children = new Children(admission, totals, log, config.maxLifetime(), config.killGrace());
        this.spares = new Spares(config.spares(), spawner, log);
        this.proxyStage = config.proxy() == null ? null : new ProxyStage(config.proxy(), admission, new ProxyStage.Owner() {
            @Override
            public void admit(Accepted connection) {
                admitAndStart(connection);
            }

            @Override
            public void refuse(Accepted connection, Admission.Reason reason, String detail) {
                reject(connection, reason, detail);
            }

            @Override
            public void healthChecked() {
                totals.countProxyHealthCheck();
            }
        });
    }

    /**
     * Reads the access rules, binds the listening socket (or takes over {@code inherited} when an
     * activator passed one; then {@code config.listen()} is not used) and prepares the spawner;
     * no connection is accepted until {@link #serve()}. {@code environment} is what every child
     * inherits, before the connection's own variables.
     *
     * @throws IllegalArgumentException when the rules file is broken (nothing is bound then)
     */
    static Supervisor open(Config config, InheritedSocket inherited, Map<String, String> environment, EventLog log)
            throws IOException {
        AccessRules rules;
        try {
            rules = config.admission().loadRules();
        } catch (RuleFile.Invalid e) {
            throw new IllegalArgumentException("--rules: " + e.getMessage(), e);
        }
        Listener listener = inherited != null
                ? Listener.inherit(inherited)
                : Listener.bind(config.listen(), config.backlog(), config.reusePort());
        try {
            Spawner spawner = new Spawner(config.command(), config.spareCommand(), config.stdio(), environment);
            return new Supervisor(config, log, listener, spawner, rules);
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }

    InetSocketAddress address() {
        return listener.address();
    }

    /** Accepts and spawns until {@link #stop} is called. */
    void serve() {
        log.listening(listener.how(), HostPort.format(address()), config.maxChildren(), String.join(" ", config.command()));
        spares.start();
        if (proxyStage != null) {
            proxyStage.start();
        }
        // With --proxy-protocol the turn is awaited after the header, in ProxyStage (see there why).
        while (proxyStage == null ? admission.awaitTurn() : proxyStage.awaitRoom()) {
            Accepted connection;
            try {
                connection = listener.accept();
            } catch (ErrnoException e) {
                if (!Listener.isTemporary(e)) {
                    throw new IllegalStateException("accept failed for good: " + e.getMessage(), e);
                }
                log.acceptFailed(e.getMessage(), ACCEPT_RETRY_PAUSE);
                pause(ACCEPT_RETRY_PAUSE);
                continue;
            }
            if (connection == null) {
                break;
            }
            totals.countAccepted();
            if (proxyStage != null) {
                proxyStage.submit(connection); // its header is read, and it is admitted, off this thread
                continue;
            }
            admitAndStart(connection);
        }
    }

    /** Admits {@code connection} by its (real) client's address and starts its child, or rejects it. */
    private void admitAndStart(Accepted connection) {
        switch (admission.admit(connection.remote().getAddress())) {
            case Admission.Verdict.Admitted admitted -> spawnFor(connection, admitted.ticket());
            case Admission.Verdict.Rejected rejected -> reject(connection, rejected.reason(), null);
        }
    }

    private void reject(Accepted connection, Admission.Reason reason, String detail) {
        rejector.reject(connection, reason);
        totals.rejected(reason.text);
        log.reject(HostPort.format(connection.remote()), HostPort.format(connection.local()),
                connection.proxy() == null ? null : HostPort.format(connection.proxy()), reason.text, detail,
                new LogLine.Count(admission.running(), admission.limit()));
    }

    private void spawnFor(Accepted connection, Admission.Ticket ticket) {
        Process child;
        String via = null;
        try {
            if (spares.target() > 0) {
                child = spares.handOff(connection, Spawner.connectionEnvironment(connection, ticket.environment()));
                via = child != null ? "spare" : "spawn";
            } else {
                child = null;
            }
            if (child == null) {
                child = spawner.spawn(connection, ticket.environment());
            }
        } catch (IOException | RuntimeException e) {
            admission.release(ticket);
            log.spawnFailed(HostPort.format(connection.remote()), e.getMessage());
            return;
        } finally {
            // At once: while we hold a copy, the client would not see end of file when its child
            // exits, and a failed spawn must not leave the client hanging.
            connection.close();
        }
        children.started(child, connection, ticket, via);
    }

    /**
     * SIGHUP: reads the rules again and uses them for the next connection; open connections
     * keep their children. A broken file changes nothing but the log line that says why.
     */
    void reloadRules() {
        AdmissionPolicy policy = config.admission();
        try {
            AccessRules rules = policy.loadRules();
            admission.rules(rules);
            log.reloaded(policy.rulesFile() == null ? "none" : policy.rulesFile().toString(), rules.size());
        } catch (RuleFile.Invalid e) {
            log.reloadFailed(e.getMessage());
        }
    }

    /** SIGUSR1: logs the children now, the busiest sources, and the totals since start. */
    void logStatus() {
        log.status(new LogLine.Count(admission.running(), admission.limit()),
                spares.target() > 0 ? new LogLine.Count(spares.ready(), spares.target()) : null,
                admission.topSources(STATUS_TOP_SOURCES), totals.accepted(),
                proxyStage == null ? null : totals.proxyHealthChecks(), totals.rejectedByReason(), totals.exitedByStatus());
    }

    /** Stops accepting; {@link #serve()} returns soon after. Safe from any thread, idempotent. */
    void stop(String signal) {
        if (stopSignal != null) {
            return;
        }
        stopSignal = signal;
        admission.close();
        if (proxyStage != null) {
            proxyStage.close();
        }
        listener.wakeUp();
    }

    /**
     * After {@link #serve()} returned: gives the children the shutdown grace, then stops them,
     * and closes the listening socket. Returns how many processes were left behind (0 normally).
     */
    int drain() throws IOException {
        log.stopping(stopSignal, children.count(), config.shutdownGrace());
        if (proxyStage != null) {
            proxyStage.awaitStopped(); // before the drain: no child may start after it
        }
        spares.stop(config.killGrace()); // idle: nothing to drain
        int leftBehind = children.stopAll(config.shutdownGrace(), config.killGrace());
        listener.close();
        log.stopped(leftBehind);
        return leftBehind;
    }

    private static void pause(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
