package forkserver.supervisor;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Decides when the next connection may be accepted: at most {@code maxChildren} children run at
 * once. At the limit the acceptor waits here, and new clients wait in the kernel's backlog (as
 * under tcpserver) until a child exits.
 */
final class Admission {

    private final int maxChildren;
    // Guards running and closed; the acceptor waits on slotFree, child exits signal it.
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition slotFree = lock.newCondition();
    private int running;
    private boolean closed;

    Admission(int maxChildren) {
        if (maxChildren < 1) {
            throw new IllegalArgumentException("max-children must be at least 1");
        }
        this.maxChildren = maxChildren;
    }

    /** Waits for a free slot and takes it; false (nothing taken) once {@link #close()}d. */
    boolean acquire() {
        lock.lock();
        try {
            while (running >= maxChildren && !closed) {
                slotFree.awaitUninterruptibly();
            }
            if (closed) {
                return false;
            }
            running++;
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Gives back a slot: its child exited, or no child was started for it. */
    void release() {
        lock.lock();
        try {
            running--;
            slotFree.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Wakes a waiting {@link #acquire()} for good: the supervisor is stopping. */
    void close() {
        lock.lock();
        try {
            closed = true;
            slotFree.signalAll();
        } finally {
            lock.unlock();
        }
    }

    int limit() {
        return maxChildren;
    }
}
