package forkserver.bench;

import java.util.Arrays;
import java.util.List;

/** Percentiles of measured durations. */
final class Stats {

    private Stats() {
    }

    /** The nearest-rank percentile {@code p} (0 < p <= 100) of nanosecond samples, in milliseconds. */
    static double percentileMillis(List<Long> nanos, double p) {
        if (nanos.isEmpty()) {
            return Double.NaN;
        }
        long[] sorted = nanos.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(rank, 1) - 1] / 1e6;
    }
}
