package forkserver.supervisor.admit;

import forkserver.supervisor.base.Reason;
import forkserver.supervisor.base.RateLimit;
import forkserver.supervisor.OnAThread;
import forkserver.supervisor.admit.Admission.OverLimit;
import forkserver.supervisor.admit.Admission.Verdict;
import forkserver.supervisor.reap.Processes;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Who gets a child: rules first, then -c, -C and the rate; what waits and what is refused. */
class AdmissionTest {

    private static final InetAddress A = InetAddress.ofLiteral("127.0.0.2");
    private static final InetAddress B = InetAddress.ofLiteral("127.0.0.3");

    private final Processes.Log log = new Processes.Log();

    private Admission admission(int maxChildren, OverLimit overLimit, int perSource, RateLimit rate, AccessRules rules) {
        return new Admission(maxChildren, overLimit, new SourceLimits(perSource, 64), rate, rules, log.log);
    }

    private static Admission.Ticket admitted(Verdict verdict) {
        return assertInstanceOf(Verdict.Admitted.class, verdict).ticket();
    }

    private static Reason rejected(Verdict verdict) {
        return assertInstanceOf(Verdict.Rejected.class, verdict).reason();
    }

    @Test
    void admitsUpToTheLimitAndAgainOnceAChildIsGone() {
        Admission admission = admission(2, OverLimit.REJECT, SourceLimits.UNLIMITED, null, AccessRules.allowAll());
        Admission.Ticket first = admitted(admission.admit(A));
        admitted(admission.admit(B));
        assertEquals(Reason.MAX_CHILDREN, rejected(admission.admit(A)));
        assertEquals(2, admission.running());
        admission.release(first);
        admission.release(first); // a failure path releasing again changes nothing
        assertEquals(1, admission.running());
        admitted(admission.admit(A));
        assertEquals(2, admission.running());
    }

    @Test
    void aSourceOverItsLimitIsRefusedWhileAnotherIsServedAndTcpconnnumCountsItsOpenOnes() {
        Admission admission = admission(10, OverLimit.WAIT, 2, null, AccessRules.allowAll());
        Admission.Ticket first = admitted(admission.admit(A));
        Admission.Ticket second = admitted(admission.admit(A));
        assertEquals("0", first.environment().get("TCPCONNNUM"));
        assertEquals("1", second.environment().get("TCPCONNNUM"));
        assertEquals(1, second.openFromSource());
        assertEquals(Reason.MAX_PER_SOURCE, rejected(admission.admit(A)), "refused even under wait: nothing to wait for");
        admitted(admission.admit(B));
        assertEquals(Map.of("127.0.0.2", 2, "127.0.0.3", 1), admission.topSources(5));
        admission.release(first);
        assertEquals("1", admitted(admission.admit(A)).environment().get("TCPCONNNUM"));
    }

    @Test
    void theRulesComeFirstAndTheirVariablesReachTheTicket() {
        AccessRules rules = new AccessRules(List.of(
                AccessRules.parse(AccessRules.Action.DENY, "127.0.0.3", "--deny"),
                AccessRules.parse(AccessRules.Action.ALLOW, "127.0.0.0/8 ZONE=local", "--allow")),
                AccessRules.Action.DENY);
        Admission admission = admission(1, OverLimit.REJECT, SourceLimits.UNLIMITED, null, rules);
        assertEquals(Reason.DENIED, rejected(admission.admit(B)));
        Admission.Ticket ticket = admitted(admission.admit(A));
        assertEquals("local", ticket.environment().get("ZONE"));
        assertEquals(Reason.DENIED, rejected(admission.admit(B)), "denied, not max-children: rules first");
        assertEquals(Reason.DENIED, rejected(admission.admit(InetAddress.ofLiteral("10.0.0.1"))), "the default policy");
    }

    @Test
    void onlyAConnectionThatGetsAChildSpendsARateToken() {
        AtomicLong clock = new AtomicLong();
        RateLimit rate = new RateLimit(RateLimit.Spec.parse("2/1s"), clock::get);
        Admission admission = admission(1, OverLimit.REJECT, SourceLimits.UNLIMITED, rate, AccessRules.allowAll());
        Admission.Ticket first = admitted(admission.admit(A));
        assertEquals(Reason.MAX_CHILDREN, rejected(admission.admit(A)), "refused: no token spent on it");
        admission.release(first);
        Admission.Ticket second = admitted(admission.admit(A));
        admission.release(second);
        assertEquals(Reason.RATE, rejected(admission.admit(A)), "both tokens spent");
        clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(500)); // one token back
        admitted(admission.admit(A));
    }

    @Test
    void underWaitTheAcceptorWaitsAtTheLimitUntilAChildEnds() throws Exception {
        Admission admission = admission(1, OverLimit.WAIT, SourceLimits.UNLIMITED, null, AccessRules.allowAll());
        assertTrue(admission.awaitTurn());
        Admission.Ticket ticket = admitted(admission.admit(A));
        OnAThread<Boolean> turn = OnAThread.start(admission::awaitTurn).awaitBlocked();
        admission.release(ticket);
        assertTrue(turn.get(Duration.ofSeconds(30)));
    }

    @Test
    void aHoldOffPausesTheAcceptorWhateverOverLimitSaysAndCloseEndsIt() throws Exception {
        Admission admission = admission(10, OverLimit.REJECT, SourceLimits.UNLIMITED, null, AccessRules.allowAll());
        admission.holdOff(Duration.ofMinutes(10));
        OnAThread<Boolean> turn = OnAThread.start(admission::awaitTurn).awaitBlocked();
        admission.close();
        assertFalse(turn.get(Duration.ofSeconds(30)), "closed: no more turns");
    }

    @Test
    void aShortHoldOffPasses() throws Exception {
        Admission admission = admission(10, OverLimit.WAIT, SourceLimits.UNLIMITED, null, AccessRules.allowAll());
        admission.holdOff(Duration.ofMillis(50));
        assertTrue(OnAThread.start(admission::awaitTurn).get(Duration.ofSeconds(30)));
    }
}
