package forkserver.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting on a condition with a deadline, never on a fixed sleep. */
public final class Await {

    /** Generous: CI machines are shared and a JVM start can take a second under load. */
    public static final Duration DEFAULT = Duration.ofSeconds(30);

    private Await() {
    }

    /** Polls {@code condition} until true; fails with {@code what} when {@code timeout} passes. */
    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 1;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            sleep(pause);
            pause = Math.min(pause * 2, 50);
        }
    }

    public static void until(String what, BooleanSupplier condition) {
        until(what, DEFAULT, condition);
    }

    /** Polls {@code value} until it is non-null and returns it. */
    public static <T> T value(String what, Duration timeout, Supplier<T> value) {
        Object[] found = new Object[1];
        until(what, timeout, () -> (found[0] = value.get()) != null);
        @SuppressWarnings("unchecked")
        T result = (T) found[0];
        return result;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting", e);
        }
    }
}
