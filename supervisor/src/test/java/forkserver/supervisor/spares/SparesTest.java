package forkserver.supervisor.spares;

import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.posix.SpareProtocol;
import forkserver.supervisor.base.Failures;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.listen.ListenAddress;
import forkserver.supervisor.listen.Listeners;
import forkserver.supervisor.spawn.ChildProcess;
import forkserver.supervisor.reap.Processes;
import forkserver.supervisor.admit.AccessRules;
import forkserver.supervisor.admit.SourceLimits;
import forkserver.supervisor.log.Totals;
import forkserver.supervisor.reap.Children;
import forkserver.supervisor.spawn.Spawner;
import forkserver.testkit.Await;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pool with its real refill thread, and spares whose process is real but whose end of the
 * pair the test controls: here, a spare that said it was ready and then closed its end, so
 * that the hand-off meets EPIPE, every time (in a real run that is a race with the reaper).
 */
class SparesTest {

    private final Children children = registry();
    private final Processes.Log log = new Processes.Log();
    private final List<ChildProcess> started = new CopyOnWriteArrayList<>();

    /** Starts a spare that says READY and then closes its end of the pair (its process lives on). */
    private final Spares.Starter readyThenGone = onExit -> {
        try {
            int[] pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
            Posix.sendByte(pair[1], SpareProtocol.READY);
            Posix.close(pair[1]);
            ChildProcess child = Processes.start("/bin/sleep", "300");
            started.add(child);
            children.spare(child, onExit);
            return new Spawner.SpareStart(child, pair[0]);
        } catch (forkserver.posix.ErrnoException e) {
            throw new Failures.SpawnFailed(e.name(), e.getMessage());
        }
    };

    /** Starts a spare that says READY and keeps its end of the pair, added to {@code spareEnds} for the test to read. */
    private Spares.Starter readyAndListening(List<Integer> spareEnds) {
        return onExit -> {
            try {
                int[] pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
                Posix.sendByte(pair[1], SpareProtocol.READY);
                spareEnds.add(pair[1]);
                ChildProcess child = Processes.start("/bin/sleep", "300");
                started.add(child);
                children.spare(child, onExit);
                return new Spawner.SpareStart(child, pair[0]);
            } catch (ErrnoException e) {
                throw new Failures.SpawnFailed(e.name(), e.getMessage());
            }
        };
    }

    private final HandOffs.Outcome noOutcome = new HandOffs.Outcome() {
        @Override
        public void taken(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
            throw new AssertionError("no spare can take it");
        }

        @Override
        public void returned(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
            throw new AssertionError("nothing was sent");
        }

        @Override
        public void lost(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
            throw new AssertionError("nothing was sent");
        }
    };

    @Test
    void aSpareWhoseEndIsGoneTakesNothingAndTheConnectionIsStillTheCallers() throws Exception {
        Spares spares = new Spares(1, readyThenGone, log.log, noOutcome);
        spares.start();
        Await.until("the spare to be ready", () -> spares.ready() == 1);
        try (OneClient one = OneClient.connect()) {
            Socket client = one.client;
            Accepted connection = one.connection;

            assertFalse(one.offerTo(spares), "nobody took it");

            ChildProcess spare = started.getFirst();
            assertTrue(log.has("handoff-failed pid=" + spare.pid() + " remote=127.0.0.1:" + client.getLocalPort()
                    + " reason=\"sendmsg: Broken pipe (errno 32)\""), log.lines().toString());
            Await.until("the spare to be killed", spare::hasExited);
            // Untouched: the caller can still serve the client on it.
            Posix.sendNow(connection.fd(), "still yours\n".getBytes(StandardCharsets.US_ASCII));
            connection.close();
            InputStream in = client.getInputStream();
            assertEquals("still yours\n", new String(in.readAllBytes(), StandardCharsets.US_ASCII));
        } finally {
            spares.stop(Duration.ofSeconds(5));
            started.forEach(child -> child.signal(true));
        }
    }

    /**
     * A spare whose CPU weight cannot be raised to a connection's would serve it behind every
     * spare warming up: it is never sent the connection (nothing arrives at its end), it is
     * killed, and the connection stays the caller's to spawn for.
     */
    @Test
    void aSpareThatCannotBeGivenTheForegroundWeightIsNeverSentTheConnection() throws Exception {
        List<Integer> spareEnds = new CopyOnWriteArrayList<>();
        Spares.Starter readyAndListening = readyAndListening(spareEnds);
        List<ChildProcess> raised = new CopyOnWriteArrayList<>();
        Spares spares = new Spares(1, readyAndListening, process -> {
            raised.add(process);
            return false;
        }, log.log, noOutcome);
        spares.start();
        Await.until("the spare to be ready", () -> spares.ready() == 1);
        int spareEnd = spareEnds.getFirst();
        try (OneClient one = OneClient.connect()) {
            Socket client = one.client;
            Accepted connection = one.connection;

            assertFalse(one.offerTo(spares), "nobody took it");

            ChildProcess spare = started.getFirst();
            assertEquals(List.of(spare), raised);
            assertTrue(log.has("handoff-failed pid=" + spare.pid() + " remote=127.0.0.1:" + client.getLocalPort()
                    + " reason=\"cannot raise its CPU weight\""), log.lines().toString());
            Await.until("the spare to be killed", spare::hasExited);
            // Its channel closed by the pool, nothing in it: end of file, not a descriptor.
            assertEquals(null, Posix.receiveFd(spareEnd, 4096), "nothing was sent to the spare");
            connection.close();
        } finally {
            spares.stop(Duration.ofSeconds(5));
            for (int end : spareEnds) {
                Posix.close(end);
            }
            started.forEach(child -> child.signal(true));
        }
    }

    /**
     * Once a connection is sent to a spare, the spare may hold it: whatever fails after the send
     * (here: waking the hand-offs' thread), the caller must never get it back to spawn for, or one
     * client would be served by two processes.
     */
    @Test
    void aConnectionSentToASpareIsNeverTheCallersAgainEvenWhenWakingTheHandOffsFails() throws Exception {
        List<Integer> spareEnds = new CopyOnWriteArrayList<>(); // the refill starts the next one meanwhile
        Spares.Starter readyAndListening = readyAndListening(spareEnds);
        Spares spares = new Spares(1, readyAndListening, log.log, noOutcome);
        spares.start();
        Await.until("the spare to be ready", () -> spares.ready() == 1);
        int spareEnd = spareEnds.getFirst();
        spares.handOffs().failWakeUps(new ErrnoException("write", 9, "Bad file descriptor"));
        try (OneClient one = OneClient.connect()) {
            Accepted connection = one.connection;

            Boolean offered;
            try {
                offered = one.offerTo(spares);
            } catch (Failures.Broken e) {
                offered = null; // the supervisor's failure: it drains; the connection is not spawned for
            }

            Posix.ReceivedFd handed = Posix.receiveFd(spareEnd, 4096);
            assertTrue(handed != null && handed.fd() >= 0, "the spare was sent the connection");
            Posix.close(handed.fd());
            assertTrue(offered == null || offered, "a connection the spare was sent is never the caller's to spawn for");
            connection.close();
        } finally {
            spares.stop(Duration.ofSeconds(5));
            for (int end : spareEnds) {
                Posix.close(end);
            }
            started.forEach(child -> child.signal(true));
        }
    }

    /** A client connected through a real listener, its accepted connection, and the way it is offered to spares. */
    private static final class OneClient implements AutoCloseable {
        final Listeners listeners;
        final Socket client;
        final Accepted connection;

        private OneClient(Listeners listeners, Socket client, Accepted connection) {
            this.listeners = listeners;
            this.client = client;
            this.connection = connection;
        }

        static OneClient connect() throws Exception {
            Listeners listeners = Listeners.bind(List.of(new ListenAddress.Tcp(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), null)), 8, false);
            Socket client = new Socket();
            try {
                client.connect(listeners.all().getFirst().address(), 10_000);
                return new OneClient(listeners, client, listeners.accept());
            } catch (Exception | Error e) {
                try (listeners; client) {
                    throw e;
                }
            }
        }

        boolean offerTo(Spares spares) throws Exception {
            return spares.offer(connection, new Admission.Ticket("127.0.0.1", 0, Map.of()), Map.of("TCPREMOTEIP", "127.0.0.1"));
        }

        @Override
        public void close() throws Exception {
            try (listeners; client) {
                // both closed, the client first
            }
        }
    }

    private static Children registry() {
        try {
            return new Children(null, new Admission(1, Admission.OverLimit.WAIT, new SourceLimits(SourceLimits.UNLIMITED, 64), null,
                    AccessRules.allowAll(), new Processes.Log().log), new Totals(), new Processes.Log().log, null, Duration.ofSeconds(1));
        } catch (forkserver.posix.ErrnoException e) {
            throw new AssertionError(e);
        }
    }
}
