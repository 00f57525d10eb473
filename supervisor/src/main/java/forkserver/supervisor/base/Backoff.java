package forkserver.supervisor.base;

import java.time.Duration;

/**
 * A pause after failures in a row: {@code first}, doubling with each failure up to {@code max},
 * and none again after a success. Bounded, so that the service resumes soon after the cause
 * goes away; growing, so that a cause that stays (no processes left, no descriptors) is not
 * fed the whole backlog at full speed. Thread-safe.
 */
public final class Backoff {

    private final Duration first;
    private final Duration max;
    private Duration current; // null: no failure since the last success

    public Backoff(Duration first, Duration max) {
        if (first.isNegative() || first.isZero() || max.compareTo(first) < 0) {
            throw new IllegalArgumentException("a backoff needs 0 < first <= max, got " + first + " and " + max);
        }
        this.first = first;
        this.max = max;
    }

    /** One more failure: how long to pause before the next try. */
    public synchronized Duration failed() {
        current = current == null ? first : min(current.multipliedBy(2), max);
        return current;
    }

    /** A success: the next failure pauses {@code first} again. */
    public synchronized void succeeded() {
        current = null;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
