package forkserver.supervisor.log;

import forkserver.posix.Durations;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * Durations counted into fixed buckets, as a Prometheus histogram has them: a count per bucket,
 * the sum, the total. Recording is a few adds on {@link LongAdder}s, no lock and no allocation,
 * so that the accept path pays nothing it would notice; {@link #snapshot()} reads them (a
 * reading taken while others record may be off by the few in flight, as any scrape is).
 */
public final class DurationHistogram {

    /**
     * A reading: the upper bounds in seconds (bytes for {@link #ofBytes}), the count in each bucket
     * (the last is +Inf), the sum in the same unit.
     */
    public record Snapshot(double[] upperBounds, long[] counts, double sum) {

        long count() {
            return Arrays.stream(counts).sum();
        }
    }

    private final double[] upperBounds; // seconds, ascending, the last is +Inf
    private final long[] upperNanos;
    private final LongAdder[] counts;
    private final LongAdder sumNanos = new LongAdder();
    private final double unit; // what one recorded unit is in the snapshot's unit: 1e9 nanoseconds a second, or 1

    /** {@code bounds}: the buckets' upper bounds, ascending; a last bucket, +Inf, is added. */
    public DurationHistogram(Duration... bounds) {
        this(Arrays.stream(bounds).mapToLong(Duration::toNanos).toArray(), 1e9);
    }

    /** Sizes in bytes rather than durations (a child's memory peak): recorded and reported in bytes. */
    public static DurationHistogram ofBytes(long... bounds) {
        return new DurationHistogram(bounds.clone(), 1);
    }

    private DurationHistogram(long[] bounds, double unit) {
        this.unit = unit;
        upperBounds = new double[bounds.length + 1];
        upperNanos = bounds;
        for (int i = 0; i < bounds.length; i++) {
            if (i > 0 && bounds[i] <= bounds[i - 1]) {
                throw new IllegalArgumentException("bucket bounds must ascend: " + Arrays.toString(bounds));
            }
            upperBounds[i] = bounds[i] / unit;
        }
        upperBounds[bounds.length] = Double.POSITIVE_INFINITY;
        counts = new LongAdder[bounds.length + 1];
        Arrays.setAll(counts, i -> new LongAdder());
    }

    public void record(long nanos) {
        int bucket = 0;
        while (bucket < upperNanos.length && nanos > upperNanos[bucket]) {
            bucket++;
        }
        counts[bucket].increment();
        sumNanos.add(nanos);
    }

    public Snapshot snapshot() {
        long[] now = new long[counts.length];
        for (int i = 0; i < counts.length; i++) {
            now[i] = counts[i].sum();
        }
        return new Snapshot(upperBounds.clone(), now, sumNanos.sum() / unit);
    }
}
