package forkserver.supervisor.proxy;

import forkserver.supervisor.base.Reason;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.base.Accepted;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code --proxy-protocol}: what happens to a connection between accept and admission. Three
 * steps, each on its own thread, so that no peer can hold up another:
 *
 * <ol>
 *   <li><b>The acceptor</b> ({@link #submit}) refuses a peer outside {@code --proxy-from} at once
 *       ({@code proxy-untrusted}), before reading a byte of it, so its claimed address is never
 *       seen; any other goes to the header reader.</li>
 *   <li><b>{@code forkserver-proxy-headers}</b> ({@link ProxyHeaderReader}) reads each header,
 *       each with its own deadline; a v2 LOCAL connection (a health check) is closed and counted
 *       there, a bad or late header refused ({@code proxy-header}, {@code proxy-timeout}).</li>
 *   <li><b>{@code forkserver-proxy-admission}</b> takes the connections whose header is read,
 *       in the order their headers completed, waits for {@link Admission#awaitTurn()} and hands
 *       each to the {@link Owner}, which admits it with the real client's address and starts its
 *       child.</li>
 * </ol>
 *
 * <p><b>Why admission waits on the third thread, not before accept.</b> Without a proxy the
 * acceptor waits for its turn before accepting, so that with {@code --over-limit wait} clients
 * wait in the kernel's backlog and {@code admit} never has to refuse one for
 * {@code max-children} or {@code rate}. Here the client's address is known only once its
 * header is read, after accept, and several headers may complete while one child slot is
 * free. So the turn is awaited right before each {@code admit}, on the one thread that admits:
 * under {@code wait} a client is still never refused for {@code max-children} or
 * {@code rate}; it waits, header read, in this stage. The acceptor meanwhile keeps accepting,
 * which is what keeps the proxy's health checks answered while the children are at their limit
 * (HAProxy would otherwise mark a busy host down). Under {@code reject} the turn is at once and
 * {@code admit} refuses as usual.
 *
 * <p><b>Bound.</b> At most {@link #MAX_IN_FLIGHT} connections are in the stage at once (header
 * being read, or read and waiting for their turn); each holds a descriptor and, while its
 * header comes in pieces, up to {@link ProxyHeader#MAX_LENGTH} bytes. At the bound the acceptor
 * waits ({@link #awaitRoom()}) and new clients wait in the kernel's backlog.
 */
public final class ProxyStage {

    /** Connections between accept and admission at once, at most. */
    static final int MAX_IN_FLIGHT = 1024;
    /** On shutdown, how long to wait for each thread (the admission thread may be handing over to a spare). */
    static final Duration STOP_WAIT = Duration.ofSeconds(10);

    /** What the supervisor does with a connection the stage is done with. Called on the stage's threads. */
    public interface Owner {
        /** Its header is read and its turn has come: admit it, start its child, or reject it as usual. */
        void admit(Accepted connection);

        /** Turned away for a PROXY reason ({@code proxy-untrusted}, {@code proxy-header}, {@code proxy-timeout}). */
        void refuse(Accepted connection, Reason reason, String detail);

        /** A health check (v2 LOCAL) came and was closed. */
        void healthChecked();
    }

    private static final Accepted STOP = new Accepted(-1, (java.net.InetSocketAddress) null, null); // compared by identity

    private final ProxyPolicy policy;
    private final Admission admission;
    private final Owner owner;
    private final ProxyHeaderReader reader;
    private final BlockingQueue<Accepted> headerRead = new LinkedBlockingQueue<>(); // bounded by inFlight
    private final Thread admitter;
    // Guards inFlight and closed; the acceptor waits on room while the stage is full.
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition room = lock.newCondition();
    private int inFlight;
    private boolean closed;

    public ProxyStage(ProxyPolicy policy, Admission admission, Owner owner) throws ErrnoException {
        this.policy = policy;
        this.admission = admission;
        this.owner = owner;
        this.reader = new ProxyHeaderReader(policy.timeout(), new ProxyHeaderReader.Verdicts() {
            @Override
            public void complete(Accepted connection) {
                headerRead.add(connection);
            }

            @Override
            public void healthCheck(Accepted connection) {
                closeQuietly(connection);
                left();
                owner.healthChecked();
            }

            @Override
            public void refused(Accepted connection, Reason reason, String detail) {
                owner.refuse(connection, reason, detail);
                left();
            }
        });
        this.admitter = Thread.ofPlatform().daemon().name("forkserver-proxy-admission").unstarted(this::admitInOrder);
    }

    public void start() {
        reader.start();
        admitter.start();
    }

    /**
     * Before accepting (the acceptor's loop condition): waits while the stage is full. False once
     * {@link #close()}d: the acceptor stops.
     */
    public boolean awaitRoom() {
        lock.lock();
        try {
            while (!closed && inFlight >= MAX_IN_FLIGHT) {
                room.awaitUninterruptibly();
            }
            return !closed;
        } finally {
            lock.unlock();
        }
    }

    /**
     * On the acceptor, right after accept: refuses an untrusted peer at once, else starts
     * reading its header. Never blocks (room was awaited before accepting, and only the acceptor
     * adds to the stage).
     */
    public void submit(Accepted connection) {
        // A UNIX-domain client is local and known by its credentials: no proxy stands in front
        // of it, and it sends no header. It is admitted in turn all the same, on the one thread
        // that admits.
        boolean local = connection.unixPeer() != null;
        if (!local && !policy.trusts(connection.remote().getAddress())) {
            owner.refuse(connection, Reason.PROXY_UNTRUSTED, null);
            return;
        }
        lock.lock();
        try {
            if (closed) {
                connection.close();
                return;
            }
            inFlight++;
        } finally {
            lock.unlock();
        }
        if (local) {
            headerRead.add(connection);
        } else {
            reader.add(connection);
        }
    }

    /** Stops taking connections: {@link #awaitRoom()} returns false. Safe from any thread, idempotent. */
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            room.signalAll();
        } finally {
            lock.unlock();
        }
        headerRead.add(STOP); // the admission thread: once Admission is closed too, it closes what waits
    }

    /**
     * After {@link #close()} and the acceptor's end: stops both threads and closes every
     * connection still in the stage, unanswered (as the backlog's are when the supervisor exits).
     * Before the children are drained, so that no child starts after.
     */
    public void awaitStopped() {
        reader.stop(STOP_WAIT);
        try {
            admitter.join(STOP_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Accepted connection; (connection = headerRead.poll()) != null; ) {
            if (connection != STOP) {
                connection.close();
            }
        }
    }

    /** The admission thread: one connection at a time, in the order their headers completed. */
    private void admitInOrder() {
        while (true) {
            Accepted connection;
            try {
                connection = headerRead.take();
            } catch (InterruptedException e) {
                return; // nobody interrupts it; awaitStopped closes what is left
            }
            if (connection == STOP) {
                return;
            }
            try {
                if (admission.awaitTurn()) {
                    owner.admit(connection);
                } else {
                    connection.close(); // stopping
                }
            } finally {
                left();
            }
        }
    }

    /** A connection left the stage (admitted, refused or closed): room for one more. */
    private void left() {
        lock.lock();
        try {
            inFlight--;
            room.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes a health check's connection. What else it sent is read away first, so that the
     * close is a FIN, not a reset (a reset can make a proxy count the check as failed).
     */
    private static void closeQuietly(Accepted connection) {
        try {
            Posix.discardNow(connection.fd());
        } catch (ErrnoException e) {
            // gone already
        } finally {
            connection.close();
        }
    }
}
