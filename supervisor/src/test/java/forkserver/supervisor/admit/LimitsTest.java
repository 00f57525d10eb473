package forkserver.supervisor.admit;

import forkserver.supervisor.base.RateLimit;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-source counts and the rate bucket, on a clock the test moves. */
class LimitsTest {

    @Test
    void ipv6ClientsCountByTheirNetwork() {
        SourceLimits limits = new SourceLimits(2, 64);
        assertEquals("2001:db8:1:2::/64", limits.sourceOf(InetAddress.ofLiteral("2001:db8:1:2:aaaa::1")));
        assertEquals(limits.sourceOf(InetAddress.ofLiteral("2001:db8:1:2::5")),
                limits.sourceOf(InetAddress.ofLiteral("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        assertEquals("127.0.0.1", limits.sourceOf(InetAddress.ofLiteral("127.0.0.1")));
        assertEquals("::1", new SourceLimits(2, 128).sourceOf(InetAddress.ofLiteral("::1")));
    }

    @Test
    void aSourceIsFullAtItsLimitAndFreeAgainWhenOneCloses() {
        SourceLimits limits = new SourceLimits(2, 64);
        limits.opened("a");
        assertFalse(limits.full("a"));
        limits.opened("a");
        limits.opened("b");
        assertTrue(limits.full("a"));
        assertEquals(Map.of("a", 2, "b", 1), limits.top(5));
        assertEquals(List.of("a"), List.copyOf(limits.top(1).keySet()));
        limits.closed("a");
        assertFalse(limits.full("a"));
        limits.closed("b");
        assertEquals(Map.of("a", 1), limits.top(5), "sources without children are forgotten");
        assertFalse(new SourceLimits(SourceLimits.UNLIMITED, 64).full("a"));
    }

    @Test
    void aLimitOfNoneIsRefusedWithItsOptionsName() {
        // The one check of -C: none given is UNLIMITED, a limit given is at least 1.
        for (int bad : new int[] {0, -1}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SourceLimits(bad, 64));
            assertEquals("--max-per-source must be at least 1, got " + bad, e.getMessage());
        }
    }

    @Test
    void theBucketServesABurstThenRefillsAtTheRate() {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        RateLimit rate = new RateLimit(RateLimit.Spec.parse("2/1s"), now::get);
        assertTrue(rate.tryTake());
        assertTrue(rate.tryTake());
        assertFalse(rate.tryTake(), "dry after the burst");
        assertEquals(Duration.ofMillis(500).toNanos(), rate.nanosUntilToken());
        now.addAndGet(Duration.ofMillis(499).toNanos());
        assertFalse(rate.tryTake());
        now.addAndGet(Duration.ofMillis(1).toNanos());
        assertTrue(rate.tryTake(), "a token every 500 ms");
        now.addAndGet(Duration.ofHours(1).toNanos());
        assertTrue(rate.tryTake());
        assertTrue(rate.tryTake());
        assertFalse(rate.tryTake(), "never more than the burst, however long it rested");
    }

    @Test
    void rateSpecs() {
        assertEquals(new RateLimit.Spec(50, Duration.ofSeconds(1)), RateLimit.Spec.parse("50/1s"));
        assertEquals(new RateLimit.Spec(3, Duration.ofMillis(500)), RateLimit.Spec.parse("3/500ms"));
        for (String bad : new String[] {"50", "/1s", "0/1s", "5/0s", "x/1s", "5/soon"}) {
            assertThrows(IllegalArgumentException.class, () -> RateLimit.Spec.parse(bad), bad);
        }
    }
}
