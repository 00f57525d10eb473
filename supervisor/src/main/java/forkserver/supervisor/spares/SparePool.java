package forkserver.supervisor.spares;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The state of every spare and which one takes the next connection: the decisions of
 * {@code --spares}, with no processes and no descriptors of its own, so that they can be tested
 * alone. {@link Spares} drives it.
 *
 * <pre>
 *  add ──▶ STARTING ──ready──▶ READY ──take──▶ HANDING ──handedOver──▶ (a child: gone from the pool)
 *             │                  │                 └──────remove──────▶ (did not take it: gone)
 *             └──────removeIfIdle (it exited)─┘
 * </pre>
 *
 * <p>Only STARTING and READY count against the target: a spare being handed a connection is a
 * connection's process already, and its replacement may start. Which thread owns a spare's
 * channel follows the state: the refill thread while STARTING, the pool while READY, whoever
 * took it once HANDING. All methods are atomic; {@link #awaitChange} waits for any of them.
 *
 * @param <S> what a spare is (the supervisor's {@link SpareWorker}; anything in a test)
 */
final class SparePool<S> {

    enum State { STARTING, READY, HANDING }

    private final int target;
    private final Map<S, State> states = new HashMap<>();
    private final Deque<S> ready = new ArrayDeque<>(); // oldest first: the warmest
    private boolean stopped;

    SparePool(int target) {
        this.target = target;
    }

    int target() {
        return target;
    }

    /** A spare was just started; false (and it is not added) once {@link #stop()}ped. */
    synchronized boolean add(S spare) {
        if (stopped) {
            return false;
        }
        states.put(spare, State.STARTING);
        notifyAll();
        return true;
    }

    /** A starting spare said it is ready; false when it is not STARTING any more, or the pool stopped. */
    synchronized boolean ready(S spare) {
        if (stopped || states.get(spare) != State.STARTING) {
            return false;
        }
        states.put(spare, State.READY);
        ready.addLast(spare);
        notifyAll();
        return true;
    }

    /** The oldest ready spare, now HANDING; null when none is ready. */
    synchronized S take() {
        S spare = stopped ? null : ready.pollFirst();
        if (spare != null) {
            states.put(spare, State.HANDING);
            notifyAll(); // one fewer counted: the refill may start its replacement
        }
        return spare;
    }

    /** A HANDING spare holds its connection: it is a child now, and leaves the pool. */
    synchronized void handedOver(S spare) {
        if (states.get(spare) == State.HANDING) {
            states.remove(spare);
            notifyAll();
        }
    }

    /** A spare leaves the pool, whatever its state; returns the state it had (null: not in it). */
    synchronized State remove(S spare) {
        State was = states.remove(spare);
        if (was == State.READY) {
            ready.remove(spare);
        }
        notifyAll();
        return was;
    }

    /**
     * A spare exited: it leaves the pool if it was STARTING or READY, and the state it had is
     * returned. A HANDING one stays (whoever is handing it a connection finds out itself);
     * null when it is not in the pool (a child already, or removed).
     */
    synchronized State removeIfIdle(S spare) {
        State was = states.get(spare);
        if (was == State.STARTING || was == State.READY) {
            return remove(spare);
        }
        return was;
    }

    /**
     * Stops the pool: no spare is added, readied or taken any more. Returns the idle ones
     * (STARTING and READY), which leave it, with the state each had.
     */
    synchronized Map<S, State> stop() {
        stopped = true;
        Map<S, State> idle = new HashMap<>();
        states.forEach((spare, state) -> {
            if (state != State.HANDING) {
                idle.put(spare, state);
            }
        });
        idle.keySet().forEach(states::remove);
        ready.clear();
        notifyAll();
        return idle;
    }

    synchronized boolean stopped() {
        return stopped;
    }

    synchronized int readyCount() {
        return ready.size();
    }

    /** STARTING and READY spares: what counts against the target. */
    synchronized int idleCount() {
        int idle = 0;
        for (State state : states.values()) {
            if (state != State.HANDING) {
                idle++;
            }
        }
        return idle;
    }

    /** Whether another spare may start: not stopped, and fewer idle than the target. */
    synchronized boolean hasRoom() {
        return !stopped && idleCount() < target;
    }

    synchronized State stateOf(S spare) {
        return states.get(spare);
    }

    /** Waits until any method above changed the pool, or {@code nanos} passed (0: no limit). */
    synchronized void awaitChange(long nanos) throws InterruptedException {
        if (nanos == 0) {
            wait();
        } else {
            TimeUnit.NANOSECONDS.timedWait(this, nanos);
        }
    }
}
