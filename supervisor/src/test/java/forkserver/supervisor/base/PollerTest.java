package forkserver.supervisor.base;

import forkserver.posix.Posix;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one poller: readiness, a wake-up from another thread, a deadline. */
class PollerTest {

    @Test
    void aReadableDescriptorIsReportedUntilRemoved() throws Exception {
        int[] pipe = Posix.pipe();
        try (Poller poller = new Poller()) {
            poller.add(pipe[0]);
            Posix.writeByte(pipe[1]);
            assertArrayEquals(new int[] {pipe[0]}, poller.await(System.nanoTime() + Duration.ofSeconds(30).toNanos()));
            poller.remove(pipe[0]);
            assertArrayEquals(new int[0], poller.await(System.nanoTime()), "no longer watched");
            poller.remove(pipe[0]); // twice: harmless
        } finally {
            Posix.close(pipe[0]);
            Posix.close(pipe[1]);
        }
    }

    @Test
    void aWakeUpFromAnotherThreadEndsTheWaitAndIsConsumed() throws Exception {
        try (Poller poller = new Poller()) {
            Thread waker = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                poller.wakeUp();
            });
            assertArrayEquals(new int[0], poller.await(Poller.NO_DEADLINE));
            waker.join();
            long start = System.nanoTime();
            poller.await(start + Duration.ofMillis(30).toNanos());
            assertTrue(System.nanoTime() - start >= Duration.ofMillis(30).toNanos(), "the wake-up was consumed: the deadline held");
        }
    }

    @Test
    void aFailingWakeUpIsTheSupervisorsFailure() throws Exception {
        try (Poller poller = new Poller()) {
            poller.failWakeUps(new forkserver.posix.ErrnoException("write", 9, "Bad file descriptor"));
            assertThrows(Failures.Broken.class, poller::wakeUp);
        }
    }
}
