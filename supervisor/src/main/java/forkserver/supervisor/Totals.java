package forkserver.supervisor;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts since start for the {@code status} line: connections accepted, rejected by reason,
 * children exited by status or signal, proxies' health checks. Updated from the acceptor, the
 * reaper and the PROXY stage's threads.
 */
final class Totals {

    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong proxyHealthChecks = new AtomicLong(); // --proxy-protocol: v2 LOCAL connections
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

    /** A proxy's health check (PROXY v2 LOCAL) was answered; it cost no child and has no log line of its own. */
    void countProxyHealthCheck() {
        proxyHealthChecks.incrementAndGet();
    }

    long proxyHealthChecks() {
        return proxyHealthChecks.get();
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
