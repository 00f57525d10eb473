package forkserver.supervisor;

import forkserver.supervisor.posix.ErrnoException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;

/**
 * The life of a connection, in order: the {@link Listener} accepts it once {@link Admission}
 * allows, the {@link Spawner} starts its child, {@link Children} reaps and logs it, the
 * {@link EventLog} says so. {@link #serve()} runs that loop until {@link #stop}; {@link #drain()}
 * then stops the children.
 */
final class Supervisor {

    /** How long the acceptor pauses after a temporary failure such as running out of descriptors. */
    static final Duration ACCEPT_RETRY_PAUSE = Duration.ofMillis(100);

    private final Config config;
    private final EventLog log;
    private final Listener listener;
    private final Admission admission;
    private final Spawner spawner;
    private final Children children;
    private volatile String stopSignal;

    private Supervisor(Config config, EventLog log, Listener listener, Spawner spawner) {
        this.config = config;
        this.log = log;
        this.listener = listener;
        this.admission = new Admission(config.maxChildren());
        this.spawner = spawner;
        this.children = new Children(admission, log);
    }

    /**
     * Binds the listening socket, or takes over {@code inherited} when an activator passed one
     * (then {@code config.listen()} is not used), and prepares the spawner; no connection is
     * accepted until {@link #serve()}. {@code environment} is what every child inherits, before
     * the connection's own variables.
     */
    static Supervisor open(Config config, InheritedSocket inherited, Map<String, String> environment, EventLog log)
            throws IOException {
        Listener listener = inherited != null ? Listener.inherit(inherited) : Listener.bind(config.listen(), config.backlog());
        try {
            return new Supervisor(config, log, listener, new Spawner(config.command(), config.stdio(), environment));
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
        while (admission.acquire()) {
            Accepted connection;
            try {
                connection = listener.accept();
            } catch (ErrnoException e) {
                admission.release();
                if (!Listener.isTemporary(e)) {
                    throw new IllegalStateException("accept failed for good: " + e.getMessage(), e);
                }
                log.acceptFailed(e.getMessage(), ACCEPT_RETRY_PAUSE);
                pause(ACCEPT_RETRY_PAUSE);
                continue;
            }
            if (connection == null) {
                admission.release();
                break;
            }
            spawnFor(connection);
        }
    }

    private void spawnFor(Accepted connection) {
        Process child;
        try {
            child = spawner.spawn(connection);
        } catch (IOException | RuntimeException e) {
            admission.release();
            log.spawnFailed(HostPort.format(connection.remote()), e.getMessage());
            return;
        } finally {
            // At once: while we hold a copy, the client would not see end of file when its child
            // exits, and a failed spawn must not leave the client hanging.
            connection.close();
        }
        children.started(child, connection);
    }

    /** Stops accepting; {@link #serve()} returns soon after. Safe from any thread, idempotent. */
    void stop(String signal) {
        if (stopSignal != null) {
            return;
        }
        stopSignal = signal;
        admission.close();
        listener.wakeUp();
    }

    /**
     * After {@link #serve()} returned: gives the children the shutdown grace, then stops them,
     * and closes the listening socket. Returns how many processes were left behind (0 normally).
     */
    int drain() throws IOException {
        log.stopping(stopSignal, children.count(), config.shutdownGrace());
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
