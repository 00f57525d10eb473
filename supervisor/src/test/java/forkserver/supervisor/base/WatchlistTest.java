package forkserver.supervisor.base;

import forkserver.posix.Posix;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a thread waits on, by thing rather than by descriptor: readiness and each thing's deadline. */
class WatchlistTest {

    private static long in(Duration d) {
        return System.nanoTime() + d.toNanos();
    }

    @Test
    void aReadableDescriptorIsAnsweredWithItsThing() throws Exception {
        int[] a = Posix.pipe();
        int[] b = Posix.pipe();
        try (Watchlist<String> list = new Watchlist<>()) {
            list.add(a[0], "a", in(Duration.ofSeconds(30)));
            list.add(b[0], "b", in(Duration.ofSeconds(30)));
            Posix.writeByte(b[1]);
            assertEquals(List.of("b"), list.await());
            assertEquals(List.of(), list.expired(System.nanoTime()), "no deadline has passed");
            assertTrue(list.remove(b[0]));
            assertFalse(list.remove(b[0]), "removed once");
            assertEquals(List.of("a"), list.all());
        } finally {
            for (int fd : new int[] {a[0], a[1], b[0], b[1]}) {
                Posix.close(fd);
            }
        }
    }

    @Test
    void theNearestDeadlineEndsTheWaitAndOnlyItsThingHasExpired() throws Exception {
        int[] a = Posix.pipe();
        int[] b = Posix.pipe();
        try (Watchlist<String> list = new Watchlist<>()) {
            list.add(a[0], "soon", in(Duration.ofMillis(50)));
            list.add(b[0], "later", in(Duration.ofSeconds(30)));
            long start = System.nanoTime();
            List<String> expired = List.of();
            while (expired.isEmpty() && System.nanoTime() - start < Duration.ofSeconds(10).toNanos()) {
                assertEquals(List.of(), list.await(), "nothing readable");
                expired = list.expired(System.nanoTime());
            }
            assertEquals(List.of("soon"), expired);
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "the wait ended at the nearest deadline");
            assertEquals(2, list.all().size(), "an expired thing stays watched until its owner removes it");
        } finally {
            for (int fd : new int[] {a[0], a[1], b[0], b[1]}) {
                Posix.close(fd);
            }
        }
    }

    @Test
    void aWakeUpEndsTheWaitWithNothing() throws Exception {
        try (Watchlist<String> list = new Watchlist<>()) {
            list.wakeUp();
            assertEquals(List.of(), list.await());
        }
    }
}
