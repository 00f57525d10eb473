package forkserver.supervisor.log;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DurationHistogramTest {

    @Test
    void eachDurationFallsInTheFirstBucketThatHoldsItAndTheSumIsInSeconds() {
        DurationHistogram histogram = new DurationHistogram(Duration.ofMillis(1), Duration.ofMillis(10));
        histogram.record(Duration.ofMillis(1).toNanos()); // on the bound: le="0.001"
        histogram.record(Duration.ofMillis(5).toNanos());
        histogram.record(Duration.ofSeconds(3).toNanos()); // +Inf
        DurationHistogram.Snapshot snapshot = histogram.snapshot();
        assertArrayEquals(new double[] {0.001, 0.01, Double.POSITIVE_INFINITY}, snapshot.upperBounds());
        assertArrayEquals(new long[] {1, 1, 1}, snapshot.counts());
        assertEquals(3, snapshot.count());
        assertEquals(3.006, snapshot.sum(), 1e-9);
    }

    @Test
    void boundsMustAscend() {
        assertThrows(IllegalArgumentException.class, () -> new DurationHistogram(Duration.ofSeconds(2), Duration.ofSeconds(1)));
    }
}
