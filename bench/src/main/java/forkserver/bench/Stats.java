package forkserver.bench;

import java.util.Arrays;
import java.util.List;

/** Percentiles of measured samples, and how far a median can be trusted. The bench's one place for them. */
public final class Stats {

    /** Below this many samples the nearest-rank 99th percentile is the maximum, and is called that. */
    public static final int P99_MIN_SAMPLES = 100;

    private Stats() {
    }

    /** The nearest-rank percentile {@code p} (0 < p <= 100) of {@code values}; NaN when there are none. */
    public static double percentile(double[] values, double p) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return ofSorted(sorted, p);
    }

    /** The nearest-rank {@code p}th percentile of values already in ascending order. */
    private static double ofSorted(double[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
    }

    /** The same, for nanosecond samples, in milliseconds. */
    public static double percentileMillis(List<Long> nanos, double p) {
        return percentile(millis(nanos), p);
    }

    public static double[] millis(List<Long> nanos) {
        return nanos.stream().mapToDouble(n -> n / 1e6).toArray();
    }

    /** A median with its 95% confidence interval and the number of samples it comes from. */
    public record Median(int n, double value, double low, double high) {
    }

    /** The median of a few values (repeated rounds) with their whole range as its interval. */
    public static Median range(double[] values) {
        if (values.length == 0) {
            return new Median(0, Double.NaN, Double.NaN, Double.NaN);
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        return new Median(n, median, sorted[0], sorted[n - 1]);
    }

    /**
     * The median of {@code values} and a distribution-free 95% interval for it: the order
     * statistics at ranks n/2 ∓ 1.96·√n/2 (the binomial's normal approximation), so that the
     * interval needs no assumption about the shape of the latencies, which is never normal.
     */
    public static Median median(double[] values) {
        int n = values.length;
        if (n == 0) {
            return new Median(0, Double.NaN, Double.NaN, Double.NaN);
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double half = 1.96 * Math.sqrt(n) / 2;
        int low = (int) Math.floor(n / 2.0 - half);
        int high = (int) Math.ceil(n / 2.0 + half) + 1;
        return new Median(n, ofSorted(sorted, 50), sorted[Math.max(low, 1) - 1], sorted[Math.min(high, n) - 1]);
    }
}
