package forkserver.supervisor.reap;

import forkserver.posix.ErrnoException;
import forkserver.supervisor.spawn.ChildProcess;
import forkserver.supervisor.OnAThread;
import forkserver.supervisor.admit.AccessRules;
import forkserver.supervisor.admit.Admission;
import forkserver.supervisor.admit.Admission.OverLimit;
import forkserver.supervisor.admit.SourceLimits;
import forkserver.supervisor.base.Accepted;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.log.Totals;
import forkserver.testkit.Await;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The registry of running children, with real processes and a real reaper. */
class ChildrenTest {

    private static final InetSocketAddress CLIENT = new InetSocketAddress(InetAddress.ofLiteral("127.0.0.2"), 40000);
    private static final InetSocketAddress LOCAL = new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 9090);

    private final Processes.Log log = new Processes.Log();
    private final Admission admission = new Admission(10, OverLimit.WAIT, new SourceLimits(SourceLimits.UNLIMITED, 64),
            null, AccessRules.allowAll(), log.log);

    private Admission.Ticket ticket() {
        return assertInstanceOf(Admission.Verdict.Admitted.class, admission.admit(CLIENT.getAddress())).ticket();
    }

    private static Accepted connection() {
        return new Accepted(-1, CLIENT, LOCAL); // its descriptor is never Children's to touch
    }

    @Test
    void aChildThatEndsIsLoggedAndItsTicketGivenBack() {
        Children children = children(new Totals(), log.log, null, Duration.ofSeconds(1));
        ChildProcess child = Processes.start("/bin/sh", "-c", "exit 3");
        children.started(child, connection(), ticket(), null);
        assertTrue(log.has("start pid=" + child.pid() + " remote=127.0.0.2:40000 local=127.0.0.1:9090 children=1/10"));
        Await.until("the end line", () -> log.has("end pid=" + child.pid() + " status=3 "));
        Await.until("the registry to be empty", () -> children.count() == 0);
        assertEquals(0, admission.running());
    }

    @Test
    void theEndLineIsWrittenBeforeTheDrainCanSeeTheRegistryEmpty() throws Exception {
        // A log that holds "end" lines at a gate: the drain must not return while one is held.
        CountDownLatch gate = new CountDownLatch(1);
        CountDownLatch atGate = new CountDownLatch(1);
        StringBuilder written = new StringBuilder();
        PrintStream gated = new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] bytes, int offset, int length) {
                String text = new String(bytes, offset, length, StandardCharsets.UTF_8);
                if (text.startsWith("forkserver: end ")) {
                    atGate.countDown();
                    try {
                        gate.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                synchronized (written) {
                    written.append(text);
                }
            }
        }, true, StandardCharsets.UTF_8);
        EventLog gatedLog = new EventLog(gated, EventLog.Format.TEXT);
        Children children = children(new Totals(), gatedLog, null, Duration.ofSeconds(1));
        ChildProcess child = Processes.start("/bin/sleep", "300");
        children.started(child, connection(), ticket(), null);
        child.signal(true); // its end is now the reaper thread's to log, at the gate
        assertTrue(atGate.await(30, TimeUnit.SECONDS), "the end line is being written");
        OnAThread<Integer> drain = OnAThread.start(() -> children.stopAll(Duration.ofSeconds(30), Duration.ofSeconds(1)));
        drain.awaitBlocked(); // the child is gone, but its end line is not written yet: it is still registered
        gate.countDown();
        assertEquals(0, drain.get(Duration.ofSeconds(30)));
        synchronized (written) {
            assertTrue(written.toString().contains("forkserver: end pid="), written.toString());
        }
    }

    @Test
    void stopAllSendsTermToEachChildAndWhatItStarted() throws Exception {
        Children children = children(new Totals(), log.log, null, Duration.ofSeconds(1));
        ChildProcess child = Processes.start("/bin/sh", "-c", "sleep 300 & wait");
        children.started(child, connection(), ticket(), null);
        List<ProcessHandle> family = Await.value("the child's sleep", Duration.ofSeconds(30), () -> {
            List<ProcessHandle> below = child.process().descendants().toList();
            return below.isEmpty() ? null : below;
        });
        assertEquals(0, children.stopAll(Duration.ZERO, Duration.ofSeconds(30)));
        assertTrue(log.has("terminating signal=TERM children=1"));
        // The child is signalled before what it started: its end says it was TERMinated.
        assertTrue(log.lines().stream().anyMatch(line -> line.matches("forkserver: end pid=" + child.pid()
                + " signal=TERM .* reason=shutdown")), log.lines().toString());
        Await.until("the grandchild to be gone too", () -> family.stream().noneMatch(ProcessHandle::isAlive));
    }

    @Test
    void aChildThatIgnoresTermIsKilledAfterTheKillGrace() {
        Children children = children(new Totals(), log.log, null, Duration.ofMillis(200));
        ChildProcess child = ignoringTerm();
        children.started(child, connection(), ticket(), null);
        assertEquals(0, children.stopAll(Duration.ZERO, Duration.ofMillis(200)));
        assertTrue(log.has("terminating signal=KILL children=1"));
        assertTrue(log.has("end pid=" + child.pid() + " signal=KILL "));
    }

    @Test
    void hurryingEndsTheGraceAtOnceAndThenTheKillGrace() throws Exception {
        Children children = children(new Totals(), log.log, null, Duration.ofMinutes(10));
        ChildProcess child = ignoringTerm();
        children.started(child, connection(), ticket(), null);
        OnAThread<Integer> drain = OnAThread.start(() -> children.stopAll(Duration.ofMinutes(10), Duration.ofMinutes(10)))
                .awaitBlocked();
        assertEquals("shutdown-grace", children.hurry());
        Await.until("SIGTERM", () -> log.has("terminating signal=TERM"));
        drain.awaitBlocked(); // it ignores TERM: the kill grace runs
        assertEquals("kill-grace", children.hurry());
        assertEquals(0, drain.get(Duration.ofSeconds(30)));
        assertTrue(log.has("terminating signal=KILL children=1"));
        assertEquals("nothing", children.hurry());
    }

    @Test
    void aChildOutlivingMaxLifetimeIsStoppedWithThatReason() {
        Children children = children(new Totals(), log.log, Duration.ofMillis(100), Duration.ofSeconds(5));
        ChildProcess child = Processes.start("/bin/sleep", "300");
        children.started(child, connection(), ticket(), null);
        Await.until("the end line", () -> log.has("end pid=" + child.pid() + " signal=TERM "));
        assertTrue(log.has("terminate pid=" + child.pid() + " signal=TERM reason=max-lifetime"));
        assertTrue(log.lines().stream().anyMatch(line -> line.startsWith("forkserver: end pid=" + child.pid())
                && line.endsWith("reason=max-lifetime")), log.lines().toString());
    }

    /** A shell that ignores SIGTERM, once it has set the trap (its first sleep has started). */
    private ChildProcess ignoringTerm() {
        ChildProcess child = Processes.start("/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done");
        Await.until("the trap to be set", () -> child.process().descendants().findAny().isPresent());
        return child;
    }

    /** A registry of children the test starts itself (no spawner). */
    private Children children(Totals totals, EventLog log, Duration maxLifetime, Duration killGrace) {
        try {
            return new Children(null, admission, totals, log, maxLifetime, killGrace);
        } catch (ErrnoException e) {
            throw new AssertionError(e);
        }
    }
}
