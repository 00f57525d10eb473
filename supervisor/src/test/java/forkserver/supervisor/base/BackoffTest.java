package forkserver.supervisor.base;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BackoffTest {

    @Test
    void doublesUpToTheBoundAndStartsOverAfterASuccess() {
        Backoff backoff = new Backoff(Duration.ofMillis(20), Duration.ofMillis(100));
        assertEquals(Duration.ofMillis(20), backoff.failed());
        assertEquals(Duration.ofMillis(40), backoff.failed());
        assertEquals(Duration.ofMillis(80), backoff.failed());
        assertEquals(Duration.ofMillis(100), backoff.failed());
        assertEquals(Duration.ofMillis(100), backoff.failed());
        backoff.succeeded();
        assertEquals(Duration.ofMillis(20), backoff.failed());
    }

    @Test
    void refusesBoundsThatMakeNoSense() {
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
    }
}
