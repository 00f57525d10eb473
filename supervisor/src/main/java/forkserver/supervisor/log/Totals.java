package forkserver.supervisor.log;

import forkserver.supervisor.base.ExitStatus;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts since start for the {@code status} line and the metrics: connections accepted, rejected
 * by reason, children exited by status or signal, proxies' health checks, how long a child took
 * to start and how long its session lasted. Updated from the acceptor, the hand-off, the PROXY
 * stage's and the reaper threads, without a lock; read by whoever reports them (SIGUSR1, a
 * scrape of {@code --metrics}).
 */
public final class Totals {

    /** Accept to child started (spawned, or a spare's acknowledgement): milliseconds, normally. */
    static final Duration[] SPAWN_BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
        Duration.ofSeconds(1), Duration.ofSeconds(5),
    };
    /** Child started to child ended: from a probe's milliseconds to a held session's hours. */
    static final Duration[] SESSION_BUCKETS = {
        Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(10),
        Duration.ofMinutes(1), Duration.ofMinutes(10), Duration.ofHours(1), Duration.ofHours(6),
    };

    private final AtomicLong accepted = new AtomicLong();
    private final Map<String, LongAdder> rejected = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> exited = new ConcurrentHashMap<>();
    private final DurationHistogram spawnDurations = new DurationHistogram(SPAWN_BUCKETS);
    private final DurationHistogram sessionDurations = new DurationHistogram(SESSION_BUCKETS);
    private final LongAdder proxyHealthChecks = new LongAdder(); // --proxy-protocol: v2 LOCAL connections
    private final LongAdder stderrDroppedLines = new LongAdder();

    public void countAccepted() {
        accepted.incrementAndGet();
    }

    public void rejected(String reason) {
        rejected.computeIfAbsent(reason, key -> new LongAdder()).increment();
    }

    /** A child exited: counted as {@code status-0} or {@code signal-KILL}. */
    public void exited(int exitValue) {
        exited.computeIfAbsent(ExitStatus.describe(exitValue).replace('=', '-'), key -> new LongAdder()).increment();
    }

    /** A child has its connection, {@code nanos} after the connection was accepted. */
    public void started(long nanos) {
        spawnDurations.record(nanos);
    }

    /** A child's session ended after {@code duration}. */
    public void session(Duration duration) {
        sessionDurations.record(duration.toNanos());
    }

    /** {@code lines} of a child's stderr were dropped (it wrote faster than the log takes). */
    public void stderrDropped(long lines) {
        stderrDroppedLines.add(lines);
    }

    public long stderrDroppedLines() {
        return stderrDroppedLines.sum();
    }

    public DurationHistogram.Snapshot spawnDurations() {
        return spawnDurations.snapshot();
    }

    public DurationHistogram.Snapshot sessionDurations() {
        return sessionDurations.snapshot();
    }

    public long accepted() {
        return accepted.get();
    }

    /** A proxy's health check (PROXY v2 LOCAL) was answered; it cost no child and has no log line of its own. */
    public void countProxyHealthCheck() {
        proxyHealthChecks.increment();
    }

    public long proxyHealthChecks() {
        return proxyHealthChecks.sum();
    }

    public Map<String, Long> rejectedByReason() {
        return snapshot(rejected);
    }

    public Map<String, Long> exitedByStatus() {
        return snapshot(exited);
    }

    private static Map<String, Long> snapshot(Map<String, LongAdder> counts) {
        Map<String, Long> sorted = new TreeMap<>();
        counts.forEach((key, count) -> sorted.put(key, count.sum()));
        return sorted;
    }
}
