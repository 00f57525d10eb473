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
}
