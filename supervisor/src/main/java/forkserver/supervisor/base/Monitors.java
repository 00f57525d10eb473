package forkserver.supervisor.base;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waiting on an object's monitor for a condition its holders change, with a deadline. */
public final class Monitors {

    private Monitors() {
    }

    /**
     * Waits until {@code done} holds, at most {@code timeout}; {@code done} is read under
     * {@code monitor}'s lock, and whoever makes it true must {@code notifyAll} under that lock.
     * True when it holds; false on the deadline or on an interrupt (whose flag is kept).
     */
    public static boolean await(Object monitor, BooleanSupplier done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (monitor) {
            while (!done.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(monitor, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }
}
