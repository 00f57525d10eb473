package forkserver.bench;

/**
 * One model's results: a row of the table and of the CSV (memory is the scale ladder's, {@link Scale}). {@code NaN} is "not measured" (no
 * /usr/bin/time, say); a model that failed a session has {@link #failure} and no figures at all.
 *
 * @param firstEcho          sequential sessions: connect to first echoed line; the median, its 95%
 *                           interval and the number of sessions
 * @param firstEchoP99Ms     the same, 99th percentile (the maximum when there are fewer than
 *                           {@link Stats#P99_MIN_SAMPLES} sessions)
 * @param burstMs            K simultaneous new connections: until every one was answered (median of the bursts)
 * @param heldRoundTripP50Ms a line's round trip on a held connection, median
 * @param connectionsPerSec  sustained run: whole sessions completed per second
 * @param cpuMsPerConn       sustained run: the tree's user+sys from /proc, per session
 * @param outsideCpuMsPerConn the same from /usr/bin/time -v (sustained server minus an idle one)
 * @param voluntaryPerConn   context switches per session, voluntary (from /usr/bin/time -v)
 * @param involuntaryPerConn the same, involuntary
 */
public record Figures(Model model, String failure, Stats.Median firstEcho, double firstEchoP99Ms, double burstMs,
                      double heldRoundTripP50Ms, double connectionsPerSec, double cpuMsPerConn,
                      double outsideCpuMsPerConn, double voluntaryPerConn, double involuntaryPerConn) {

    public static Figures failed(Model model, String why) {
        double n = Double.NaN;
        return new Figures(model, why, new Stats.Median(0, n, n, n), n, n, n, n, n, n, n, n);
    }

    public boolean ok() {
        return failure == null;
    }

    public double firstEchoP50Ms() {
        return firstEcho.value();
    }
}
