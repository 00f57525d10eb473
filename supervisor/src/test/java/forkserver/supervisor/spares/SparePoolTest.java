package forkserver.supervisor.spares;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The spares' state machine, on its own: which spare takes a connection, what counts against N. */
class SparePoolTest {

    private final SparePool<String> pool = new SparePool<>(2);

    @Test
    void aSpareIsTakenOnlyOnceReadyAndTheWarmestFirst() {
        assertTrue(pool.add("a"));
        assertTrue(pool.add("b"));
        assertNull(pool.take(), "nothing ready yet");
        assertTrue(pool.ready("b"));
        assertTrue(pool.ready("a"));
        assertEquals(2, pool.readyCount());
        assertEquals("b", pool.take(), "ready first, taken first");
        assertEquals(SparePool.State.HANDING, pool.stateOf("b"));
        assertEquals("a", pool.take());
        assertNull(pool.take());
    }

    @Test
    void onlyStartingAndReadySparesCountAgainstTheTarget() {
        pool.add("a");
        pool.add("b");
        assertFalse(pool.hasRoom());
        pool.ready("a");
        assertEquals("a", pool.take());
        assertTrue(pool.hasRoom(), "a spare being handed a connection is that connection's already");
        pool.handedOver("a");
        assertNull(pool.stateOf("a"), "a child now, not the pool's");
        assertEquals(1, pool.idleCount());
    }

    @Test
    void aSpareThatExitsWhileIdleLeavesThePoolButOneBeingHandedStays() {
        pool.add("starting");
        pool.add("ready");
        pool.ready("ready");
        assertEquals(SparePool.State.STARTING, pool.removeIfIdle("starting"));
        assertEquals(SparePool.State.READY, pool.removeIfIdle("ready"));
        assertEquals(0, pool.readyCount());
        assertNull(pool.take());

        pool.add("handing");
        pool.ready("handing");
        assertEquals("handing", pool.take());
        assertEquals(SparePool.State.HANDING, pool.removeIfIdle("handing"), "its hand-off settles it");
        assertEquals(SparePool.State.HANDING, pool.stateOf("handing"));
        assertEquals(SparePool.State.HANDING, pool.remove("handing"));
        assertNull(pool.removeIfIdle("handing"));
    }

    @Test
    void aSpareThatExitedBeforeItsReadyByteIsNotReadied() {
        pool.add("a");
        pool.removeIfIdle("a");
        assertFalse(pool.ready("a"));
        assertNull(pool.take());
    }

    @Test
    void stoppingReturnsTheIdleSparesWithTheirStatesAndRefusesEverythingAfter() {
        pool.add("starting");
        pool.add("ready");
        pool.ready("ready");
        pool.add("third"); // over the target: the pool does not refuse; the refill asks hasRoom first
        pool.ready("third");
        assertEquals("ready", pool.take());
        Map<String, SparePool.State> idle = pool.stop();
        assertEquals(Map.of("starting", SparePool.State.STARTING, "third", SparePool.State.READY), idle);
        assertTrue(pool.stopped());
        assertFalse(pool.hasRoom());
        assertFalse(pool.add("late"));
        assertFalse(pool.ready("starting"));
        assertNull(pool.take());
        assertEquals(SparePool.State.HANDING, pool.stateOf("ready"), "the one being handed over drains as a child");
    }

    @Test
    void everyChangeWakesAWaiter() throws Exception {
        Thread waiter = Thread.ofPlatform().start(() -> {
            try {
                pool.awaitChange(0);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        forkserver.testkit.Await.until("the waiter to wait", () -> waiter.getState() == Thread.State.WAITING);
        pool.add("a");
        waiter.join(10_000);
        assertFalse(waiter.isAlive());
    }
}
