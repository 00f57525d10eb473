package forkserver.supervisor.box;

/**
 * What a box's processes cost, everything that ran in it counted, the exited ones included: CPU
 * time (user + system, microseconds), the peak of the memory charged to it (bytes: anonymous
 * memory, page cache and kernel memory its processes caused, as the kernel counts for the limit),
 * how many of its processes the OOM killer killed, and, under a CPU limit, how long they were held
 * back by it (the time the box spent throttled, waiting for its next period's quota). A figure
 * this host cannot give, or a limit not set, is -1.
 */
public record BoxCost(long cpuMicros, long memoryPeakBytes, long oomKills, long throttledMicros) {

    public static final long UNKNOWN = -1;

    /** The CPU time in seconds, or -1. */
    public double cpuSeconds() {
        return cpuMicros < 0 ? -1 : cpuMicros / 1e6;
    }

    public boolean oomKilled() {
        return oomKills > 0;
    }

    /**
     * What was spent since {@code baseline} (this box's cost read earlier: a spare's, when its
     * connection arrived): CPU time, OOM kills and throttled time are the differences; the memory
     * peak cannot be split and stays the box's whole peak, warm-up included.
     */
    public BoxCost since(BoxCost baseline) {
        return new BoxCost(difference(cpuMicros, baseline.cpuMicros), memoryPeakBytes,
                difference(oomKills, baseline.oomKills), difference(throttledMicros, baseline.throttledMicros));
    }

    private static long difference(long now, long then) {
        return now < 0 || then < 0 ? UNKNOWN : Math.max(0, now - then);
    }
}
