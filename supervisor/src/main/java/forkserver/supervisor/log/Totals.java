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

    /** A boxed connection's CPU time (user + system of all its processes): a probe's milliseconds to a busy hour. */
    static final Duration[] CPU_BUCKETS = {
        Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(30),
        Duration.ofMinutes(5), Duration.ofHours(1),
    };
    /** A boxed connection's memory peak: a native program's MiB to a JVM's hundreds. */
    static final long[] MEMORY_BUCKETS = {
        1L << 20, 4L << 20, 16L << 20, 32L << 20, 64L << 20, 128L << 20, 256L << 20, 512L << 20, 1L << 30, 4L << 30,
    };

    private final AtomicLong accepted = new AtomicLong();
    private final Map<String, LongAdder> rejected = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> exited = new ConcurrentHashMap<>();
    private final DurationHistogram spawnDurations = new DurationHistogram(SPAWN_BUCKETS);
    private final DurationHistogram sessionDurations = new DurationHistogram(SESSION_BUCKETS);
    private final LongAdder proxyHealthChecks = new LongAdder(); // --proxy-protocol: v2 LOCAL connections
    private final LongAdder stderrDroppedLines = new LongAdder();
    private final DurationHistogram childCpu = new DurationHistogram(CPU_BUCKETS);
    private final DurationHistogram childMemoryPeaks = DurationHistogram.ofBytes(MEMORY_BUCKETS);
    private final LongAdder oomKills = new LongAdder();
    private final LongAdder leftovers = new LongAdder();
    private final AtomicLong memoryPeakMax = new AtomicLong();

    public void countAccepted() {
        accepted.incrementAndGet();
    }

    public void rejected(String reason) {
        rejected.computeIfAbsent(reason, key -> new LongAdder()).increment();
    }

    /**
     * A child exited: counted as {@code status-0} or {@code signal-KILL}, or {@code oom-kill} when
     * the OOM killer killed a process of its box ({@code oomKilled}).
     */
    public void exited(int exitValue, boolean oomKilled) {
        String outcome = oomKilled ? "oom-kill" : ExitStatus.describe(exitValue).replace('=', '-');
        exited.computeIfAbsent(outcome, key -> new LongAdder()).increment();
        if (oomKilled) {
            oomKills.increment();
        }
    }

    /** A child exited: as {@link #exited(int, boolean)}, not OOM-killed. */
    public void exited(int exitValue) {
        exited(exitValue, false);
    }

    /**
     * What a boxed connection cost: {@code cpuMicros} and {@code memoryPeakBytes} (each -1 when
     * the host cannot say), {@code leftovers} processes stopped after its child.
     */
    public void cost(long cpuMicros, long memoryPeakBytes, int leftovers) {
        if (cpuMicros >= 0) {
            childCpu.record(cpuMicros * 1000);
        }
        if (memoryPeakBytes >= 0) {
            childMemoryPeaks.record(memoryPeakBytes);
            memoryPeakMax.accumulateAndGet(memoryPeakBytes, Math::max);
        }
        this.leftovers.add(leftovers);
    }

    public DurationHistogram.Snapshot childCpu() {
        return childCpu.snapshot();
    }

    public DurationHistogram.Snapshot childMemoryPeaks() {
        return childMemoryPeaks.snapshot();
    }

    /** The highest memory peak of a boxed connection since start. */
    public long memoryPeakMax() {
        return memoryPeakMax.get();
    }

    public long oomKills() {
        return oomKills.sum();
    }

    /** Processes stopped because a connection's child had left them behind. */
    public long leftovers() {
        return leftovers.sum();
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
