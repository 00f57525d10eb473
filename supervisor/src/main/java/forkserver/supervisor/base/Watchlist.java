package forkserver.supervisor.base;

import forkserver.posix.ErrnoException;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What one thread waits on, each thing by its descriptor and with a deadline of its own: a
 * {@link Poller} that answers with the things rather than with descriptor numbers. The PROXY
 * header reader (a connection per descriptor) and the hand-offs (a spare per channel) loop on
 * one: {@link #await} for what became readable, then {@link #expired} for what ran out of time.
 *
 * <p>Threads: {@link #wakeUp()} from any thread; everything else from the owning thread only
 * (the map is that thread's, unlocked). A thing must be {@link #remove removed} while its
 * descriptor is still open: once closed, its number may come back as another's.
 */
public final class Watchlist<T> implements Closeable {

    private record Entry<T>(T thing, long deadline) {}

    private final Poller poller = new Poller();
    private final Map<Integer, Entry<T>> watched = new HashMap<>();

    public Watchlist() throws ErrnoException {
    }

    /**
     * Waits for {@code fd} to be readable (or hung up) until {@code deadlineNanos}
     * ({@link System#nanoTime()}); on failure (ENOMEM, ENOSPC in the kernel) nothing is watched.
     */
    public void add(int fd, T thing, long deadlineNanos) throws ErrnoException {
        poller.add(fd);
        watched.put(fd, new Entry<>(thing, deadlineNanos));
    }

    /** No longer waits for {@code fd}; true when it was watched. */
    public boolean remove(int fd) {
        if (watched.remove(fd) == null) {
            return false;
        }
        poller.remove(fd);
        return true;
    }

    /**
     * Waits until something watched is readable, a {@link #wakeUp()} came, or the nearest
     * deadline passed; returns what is readable (nothing after a wake-up or a deadline).
     */
    public List<T> await() {
        long nearest = Poller.NO_DEADLINE;
        for (Entry<T> entry : watched.values()) {
            nearest = nearest == Poller.NO_DEADLINE ? entry.deadline : Math.min(nearest, entry.deadline);
        }
        int[] ready = poller.await(nearest);
        List<T> things = new ArrayList<>(ready.length);
        for (int fd : ready) {
            Entry<T> entry = watched.get(fd);
            if (entry != null) {
                things.add(entry.thing);
            }
        }
        return things;
    }

    /** What is still watched and whose deadline has passed by {@code nowNanos}; still watched. */
    public List<T> expired(long nowNanos) {
        List<T> things = new ArrayList<>();
        for (Entry<T> entry : watched.values()) {
            if (nowNanos - entry.deadline >= 0) {
                things.add(entry.thing);
            }
        }
        return things;
    }

    /** Everything still watched (a copy). */
    public List<T> all() {
        List<T> things = new ArrayList<>(watched.size());
        for (Entry<T> entry : watched.values()) {
            things.add(entry.thing);
        }
        return things;
    }

    /** Makes the owner's current or next {@link #await} return; safe from any thread. */
    public void wakeUp() {
        poller.wakeUp();
    }

    /** Tests: from now on every {@link #wakeUp()} fails with {@code fault}, as a broken pipe would. */
    public void failWakeUps(ErrnoException fault) {
        poller.failWakeUps(fault);
    }

    /** Closes the poller; the watched descriptors are their owners' to close. */
    @Override
    public void close() {
        poller.close();
    }
}
