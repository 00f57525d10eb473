package forkserver.supervisor.log;

import forkserver.supervisor.base.Durations;
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

    /** A reading: the upper bounds in seconds, the count in each bucket (the last is +Inf), the sum in seconds. */
    public record Snapshot(double[] upperBounds, long[] counts, double sumSeconds) {

        long count() {
            return Arrays.stream(counts).sum();
        }
    }

    private final double[] upperBounds; // seconds, ascending, the last is +Inf
    private final long[] upperNanos;
    private final LongAdder[] counts;
    private final LongAdder sumNanos = new LongAdder();

    /** {@code bounds}: the buckets' upper bounds, ascending; a last bucket, +Inf, is added. */
    public DurationHistogram(Duration... bounds) {
        upperBounds = new double[bounds.length + 1];
        upperNanos = new long[bounds.length];
        for (int i = 0; i < bounds.length; i++) {
            if (i > 0 && bounds[i].compareTo(bounds[i - 1]) <= 0) {
                throw new IllegalArgumentException("bucket bounds must ascend: " + Arrays.toString(bounds));
            }
            upperNanos[i] = bounds[i].toNanos();
            upperBounds[i] = bounds[i].toNanos() / 1e9;
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
        return new Snapshot(upperBounds.clone(), now, sumNanos.sum() / 1e9);
    }
}
