package forkserver.supervisor.spares;

import forkserver.posix.Posix;
import forkserver.posix.SpareProtocol;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.reap.Processes;
import forkserver.supervisor.spawn.ChildProcess;
import forkserver.supervisor.spawn.Reaper;
import forkserver.testkit.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hand-offs in flight, with the test playing the spare on the other end of a real
 * socketpair, and a real process as the spare's body (what gets killed).
 */
class HandOffsTest {

    private static final InetSocketAddress CLIENT = new InetSocketAddress(InetAddress.ofLiteral("127.0.0.2"), 40000);

    // The registry's part in a real run: a spare's exit goes to the hand-offs.
    private final Map<ChildProcess, SpareWorker> spares = new ConcurrentHashMap<>();
    private HandOffs handOffs;
    private final Reaper reaper = Processes.reaper(process -> handOffs.exited(spares.get(process)));
    private final Processes.Log log = new Processes.Log();
    private final List<String> outcomes = new CopyOnWriteArrayList<>();
    private int spareEnd = -1;

    private final HandOffs.Outcome outcome = new HandOffs.Outcome() {
        @Override
        public void taken(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
            outcomes.add("taken " + spare.pid());
        }

        @Override
        public void returned(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
            outcomes.add("returned " + spare.pid() + " alive=" + !spare.process.hasExited());
        }

        @Override
        public void lost(SpareWorker spare, Accepted connection, Admission.Ticket ticket) {
            outcomes.add("lost " + spare.pid());
        }
    };

    private SpareWorker spare(HandOffs handOffs) throws Exception {
        int[] pair = Posix.socketpair(Posix.AF_UNIX, Posix.SOCK_SEQPACKET);
        spareEnd = pair[1];
        SpareWorker spare = new SpareWorker(Processes.start("/bin/sleep", "300"), pair[0]);
        spares.put(spare.process, spare);
        reaper.watch(spare.process);
        handOffs.begin(spare, new Accepted(-1, CLIENT, CLIENT), new Admission.Ticket("127.0.0.2", 0, Map.of()));
        return spare;
    }

    @AfterEach
    void closeTheSparesEnd() throws Exception {
        if (spareEnd >= 0) {
            Posix.close(spareEnd);
        }
    }

    @Test
    void anAcknowledgedHandOffIsTaken() throws Exception {
        handOffs = new HandOffs(log.log, outcome);
        handOffs.start();
        SpareWorker spare = spare(handOffs);
        Posix.sendByte(spareEnd, SpareProtocol.ACKNOWLEDGED);
        assertTrue(handOffs.awaitNone(Duration.ofSeconds(30)));
        assertEquals(List.of("taken " + spare.pid()), outcomes);
        assertFalse(spare.process.hasExited(), "a spare that took its connection is left alone");
        spare.process.signal(true);
    }

    @Test
    void aSpareThatClosesWithoutAcknowledgingIsKilledAndOnlyThenTheConnectionReturned() throws Exception {
        handOffs = new HandOffs(log.log, outcome);
        handOffs.start();
        SpareWorker spare = spare(handOffs);
        Posix.close(spareEnd);
        spareEnd = -1;
        assertTrue(handOffs.awaitNone(Duration.ofSeconds(30)));
        assertEquals(List.of("returned " + spare.pid() + " alive=false"), outcomes, "dead before anyone else gets it");
        assertTrue(log.has("handoff-failed pid=" + spare.pid() + " remote=127.0.0.2:40000"
                + " reason=\"ended before acknowledging (signal=KILL)\""), log.lines().toString());
    }

    @Test
    void aSilentSpareIsKilledAfterTheTimeout() throws Exception {
        handOffs = new HandOffs(log.log, outcome);
        handOffs.start();
        SpareWorker spare = spare(handOffs);
        assertTrue(handOffs.awaitNone(Duration.ofSeconds(30)));
        assertEquals(List.of("returned " + spare.pid() + " alive=false"), outcomes);
        assertTrue(log.has("reason=\"no acknowledgement within 0.250s (signal=KILL)\""), log.lines().toString());
    }

    @Test
    void aWrongAnswerIsNoAcknowledgement() throws Exception {
        handOffs = new HandOffs(log.log, outcome);
        handOffs.start();
        SpareWorker spare = spare(handOffs);
        Posix.sendByte(spareEnd, (byte) 'x');
        assertTrue(handOffs.awaitNone(Duration.ofSeconds(30)));
        assertEquals(List.of("returned " + spare.pid() + " alive=false"), outcomes);
        assertTrue(log.has("reason=\"answered 120 instead of acknowledging (signal=KILL)\""), log.lines().toString());
    }

    @Test
    void manyHandOffsAreSettledEachOnItsOwn() throws Exception {
        handOffs = new HandOffs(log.log, outcome);
        handOffs.start();
        SpareWorker silent = spare(handOffs);
        int silentEnd = spareEnd;
        SpareWorker quick = spare(handOffs);
        Posix.sendByte(spareEnd, SpareProtocol.ACKNOWLEDGED);
        Await.until("the quick one to be taken", () -> outcomes.contains("taken " + quick.pid()));
        assertEquals(List.of("taken " + quick.pid()), outcomes, "the silent one holds nobody up");
        assertTrue(handOffs.awaitNone(Duration.ofSeconds(30)));
        assertTrue(outcomes.contains("returned " + silent.pid() + " alive=false"));
        Posix.close(silentEnd);
        quick.process.signal(true);
    }
}
