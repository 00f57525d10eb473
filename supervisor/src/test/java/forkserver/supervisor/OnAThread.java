package forkserver.supervisor;

import forkserver.testkit.Await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A call made on a platform thread of its own, for tests that must see it block: "waits" is
 * then a state the thread is in (parked or in a timed wait, and not done), not a guess after
 * a sleep.
 */
public final class OnAThread<T> {

    private final CompletableFuture<T> result = new CompletableFuture<>();
    private final Thread thread;

    private OnAThread(Supplier<T> call) {
        this.thread = Thread.ofPlatform().daemon().name("test-call").start(() -> {
            try {
                result.complete(call.get());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
    }

    public static <T> OnAThread<T> start(Supplier<T> call) {
        return new OnAThread<>(call);
    }

    /** Waits until the call is blocked (waiting, not running, not done), and asserts it is not done. */
    public OnAThread<T> awaitBlocked() {
        Await.until("the call to block", () -> thread.getState() == Thread.State.WAITING
                || thread.getState() == Thread.State.TIMED_WAITING || result.isDone());
        assertFalse(result.isDone(), "the call returned instead of waiting");
        return this;
    }

    public boolean isDone() {
        return result.isDone();
    }

    public T get(Duration timeout) throws Exception {
        return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
