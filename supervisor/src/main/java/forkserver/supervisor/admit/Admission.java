package forkserver.supervisor.admit;

import forkserver.supervisor.base.Reason;
import forkserver.supervisor.base.RateLimit;
import forkserver.supervisor.base.UnixPeer;
import forkserver.supervisor.log.EventLog;

import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Decides, for each connection, whether it gets a child: the access rules, at most
 * {@code --max-children} at once, at most {@code --max-per-source} from one source, and the
 * {@code --rate} bucket. Each of those is its own small class; this one composes them and owns
 * the lock they are read under.
 *
 * <p>Two moments: before accepting, {@link #awaitTurn()} (with {@code --over-limit wait}) holds
 * the acceptor while the children are at their limit or the rate bucket is dry, so new clients
 * wait in the kernel's backlog, as under tcpserver. After accepting, {@link #admit} decides with
 * the client's address, which only an accepted connection has: denied clients and sources over
 * their limit are always turned away (there is nothing to wait for that the backlog would
 * help); with {@code --over-limit reject} so are clients over the global limit or the rate.
 *
 * <p>Behind a proxy ({@code --proxy-protocol}) the client's address comes with its PROXY header,
 * after accept, so {@code ProxyStage} calls both, {@code awaitTurn} then {@code admit}, on its one
 * admission thread: still a single thread admits, which is what {@code admit} relies on.
 */
public final class Admission {

    /** What {@code --over-limit} asks for when a limit is reached. */
    public enum OverLimit { WAIT, REJECT }

    /**
     * A connection that may have a child: the source it counts against and the variables its
     * child gets from admission (the rule's, and {@code TCPCONNNUM}). Given back by
     * {@link #release} when the child exits, or when no child could be started; once only, so
     * that a failure path may always release what it holds.
     */
    public static final class Ticket {
        private final String source;
        private final int openFromSource;
        private final Map<String, String> environment;
        private final AtomicBoolean released = new AtomicBoolean();

        public Ticket(String source, int openFromSource, Map<String, String> environment) {
            this.source = source;
            this.openFromSource = openFromSource;
            this.environment = Map.copyOf(environment);
        }

        String source() {
            return source;
        }

        /** Children its source had before this one (the child's TCPCONNNUM). */
        public int openFromSource() {
            return openFromSource;
        }

        public Map<String, String> environment() {
            return environment;
        }
    }

    /** {@link #admit}'s answer: a ticket, or the reason it was refused. */
    public sealed interface Verdict {
        record Admitted(Ticket ticket) implements Verdict {
        }

        record Rejected(Reason reason) implements Verdict {
        }
    }

    private final int maxChildren;
    private final OverLimit overLimit;
    private final EventLog log;
    // Guards running, closed, sources, rate and rateDry; the acceptor waits on changed, child
    // exits and close() signal it.
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final SourceLimits sources;
    private final RateLimit rate; // null: no --rate
    private volatile AccessRules rules;
    private int running;
    private boolean closed;
    private boolean rateDry; // a rate pause was logged and the bucket has not recovered since
    private long holdOffUntil; // System.nanoTime() before which nothing is accepted (holdOff)

    /** {@code maxChildren} is at least 1: {@code Config} checks {@code --max-children}. */
    public Admission(int maxChildren, OverLimit overLimit, SourceLimits sources, RateLimit rate, AccessRules rules,
              EventLog log) {
        this.maxChildren = maxChildren;
        this.overLimit = overLimit;
        this.sources = sources;
        this.rate = rate;
        this.rules = rules;
        this.log = log;
        this.holdOffUntil = System.nanoTime();
    }

    /**
     * Before accepting: waits out a {@link #holdOff}; then with {@code --over-limit wait}, waits
     * until a child may start and the rate bucket has a token (taken by {@link #admit}, once
     * there is a client to spend it on: taken here, a token would wait in an idle acceptor while
     * the bucket refilled behind it, and the burst would be one more than N). With
     * {@code reject}, returns at once. False once {@link #close()}d.
     */
    public boolean awaitTurn() {
        lock.lock();
        try {
            waitOutHoldOff();
            boolean waitedForRate = false;
            while (!closed && overLimit == OverLimit.WAIT) {
                if (running >= maxChildren) {
                    changed.awaitUninterruptibly();
                    continue;
                }
                long wait = rate == null ? 0 : rate.nanosUntilToken();
                if (wait == 0) {
                    // A token at once ends the dry spell; one after a wait does not (the next
                    // will most likely wait too), so a steady flood logs one pause, not one a token.
                    rateDry &= waitedForRate;
                    break;
                }
                waitedForRate = true;
                if (!rateDry) {
                    rateDry = true;
                    log.paused(Reason.RATE.text, wait);
                }
                awaitNanos(wait);
            }
            return !closed;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Before accepting, when admission waits elsewhere ({@code --proxy-protocol} admits after the
     * header): waits out a {@link #holdOff} only. False once {@link #close()}d.
     */
    public boolean awaitHoldOff() {
        lock.lock();
        try {
            waitOutHoldOff();
            return !closed;
        } finally {
            lock.unlock();
        }
    }

    /** Under {@link #lock}. */
    private void waitOutHoldOff() {
        for (long left; !closed && (left = holdOffUntil - System.nanoTime()) > 0; ) {
            awaitNanos(left);
        }
    }

    /** After accepting: admits {@code client} (counting its child) or says why not. */
    public Verdict admit(InetAddress client) {
        AccessRules.Decision decision = rules.decide(client);
        return decision.allowed() ? admit(decision, client, null, "TCPCONNNUM") : new Verdict.Rejected(Reason.DENIED);
    }

    /**
     * As {@link #admit(InetAddress)}, for a UNIX-domain client: its rules are by user and group,
     * its source for {@code -C} is its user ({@code uid:1000}), and its count of children from
     * that source is {@code IPCCONNNUM}, s6-ipcserver's name.
     */
    public Verdict admit(UnixPeer client) {
        AccessRules.Decision decision = rules.decide(client);
        return decision.allowed() ? admit(decision, null, "uid:" + client.uid(), "IPCCONNNUM")
                : new Verdict.Rejected(Reason.DENIED);
    }

    /** The limits, for an allowed client: its source is {@code source}, or that of {@code address}. */
    private Verdict admit(AccessRules.Decision decision, InetAddress address, String source, String countVariable) {
        lock.lock();
        try {
            if (source == null) {
                source = sources.sourceOf(address);
            }
            if (running >= maxChildren) {
                return new Verdict.Rejected(Reason.MAX_CHILDREN);
            }
            if (sources.full(source)) {
                return new Verdict.Rejected(Reason.MAX_PER_SOURCE);
            }
            // Last, so that only a connection that gets a child spends a token. Under wait,
            // awaitTurn saw one and only this thread takes them: it cannot fail.
            if (rate != null && !rate.tryTake()) {
                return new Verdict.Rejected(Reason.RATE);
            }
            int openFromSource = sources.openFrom(source);
            running++;
            sources.opened(source);
            Map<String, String> environment = new HashMap<>(decision.environment());
            environment.put(countVariable, Integer.toString(openFromSource));
            return new Verdict.Admitted(new Ticket(source, openFromSource, environment));
        } finally {
            lock.unlock();
        }
    }

    /** Gives back what {@code ticket} held: its child exited, or none was started for it. Once. */
    public void release(Ticket ticket) {
        if (!ticket.released.compareAndSet(false, true)) {
            return;
        }
        lock.lock();
        try {
            running--;
            sources.closed(ticket.source());
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Accept nothing for {@code pause} (on top of any pause already running), whatever
     * {@code --over-limit} says: starting children fails, and the clients in the backlog would
     * only be accepted into the same failure. The failure's own log line says how long.
     */
    public void holdOff(Duration pause) {
        lock.lock();
        try {
            holdOffUntil = Math.max(holdOffUntil, System.nanoTime() + pause.toNanos());
        } finally {
            lock.unlock();
        }
    }

    /** Replaces the access rules (SIGHUP); connections already admitted keep their children. */
    public void rules(AccessRules newRules) {
        rules = newRules;
    }

    /** Wakes a waiting {@link #awaitTurn()} for good: the supervisor is stopping. */
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public int limit() {
        return maxChildren;
    }

    public int running() {
        lock.lock();
        try {
            return running;
        } finally {
            lock.unlock();
        }
    }

    public int perSourceLimit() {
        return sources.limit();
    }

    /** The sources with the most children now, most first, for the status line. */
    public Map<String, Integer> topSources(int count) {
        lock.lock();
        try {
            return sources.top(count);
        } finally {
            lock.unlock();
        }
    }

    private void awaitNanos(long nanos) {
        try {
            changed.await(Math.max(nanos, 1), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
