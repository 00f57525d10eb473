package forkserver.supervisor;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts since start for the {@code status} line: connections accepted, rejected by reason,
 * children exited by status or signal. Updated from the acceptor and the reaper threads.
 */
final class Totals {

    private final AtomicLong accepted = new AtomicLong();
    private final Map<String, LongAdder> rejected = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> exited = new ConcurrentHashMap<>();

    void countAccepted() {
        accepted.incrementAndGet();
    }

    void rejected(String reason) {
        rejected.computeIfAbsent(reason, key -> new LongAdder()).increment();
    }

    /** A child exited: counted as {@code status-0} or {@code signal-KILL}. */
    void exited(int exitValue) {
        exited.computeIfAbsent(ExitStatus.describe(exitValue).replace('=', '-'), key -> new LongAdder()).increment();
    }

    long accepted() {
        return accepted.get();
    }

    Map<String, Long> rejectedByReason() {
        return snapshot(rejected);
    }

    Map<String, Long> exitedByStatus() {
        return snapshot(exited);
    }

    private static Map<String, Long> snapshot(Map<String, LongAdder> counts) {
        Map<String, Long> sorted = new TreeMap<>();
        counts.forEach((key, count) -> sorted.put(key, count.sum()));
        return sorted;
    }
}
