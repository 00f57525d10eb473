package forkserver.bench;

/**
 * One model's results: a row of the table and of the CSV. {@code NaN} is "not measured" (no
 * /usr/bin/time, say); a model that failed a session has {@link #failure} and no figures at all.
 *
 * @param firstEchoP50Ms     sequential sessions: connect to first echoed line, median
 * @param firstEchoP99Ms     the same, 99th percentile
 * @param burstMs            K simultaneous new connections: until every one was answered
 * @param pssPerConnKiB      K held connections: growth of the tree's PSS, per connection
 * @param rssPerConnKiB      the same for RSS (shared pages counted in every process)
 * @param heldRoundTripP50Ms a line's round trip on a held connection, median
 * @param connectionsPerSec  sustained run: whole sessions completed per second
 * @param cpuMsPerConn       sustained run: the tree's user+sys from /proc, per session
 * @param outsideCpuMsPerConn the same from /usr/bin/time -v (sustained server minus an idle one)
 * @param voluntaryPerConn   context switches per session, voluntary (from /usr/bin/time -v)
 * @param involuntaryPerConn the same, involuntary
 */
public record Figures(String model, String failure, double firstEchoP50Ms, double firstEchoP99Ms, double burstMs,
                      double pssPerConnKiB, double rssPerConnKiB, double heldRoundTripP50Ms,
                      double connectionsPerSec, double cpuMsPerConn, double outsideCpuMsPerConn,
                      double voluntaryPerConn, double involuntaryPerConn) {

    public static Figures failed(String model, String why) {
        double n = Double.NaN;
        return new Figures(model, why, n, n, n, n, n, n, n, n, n, n, n);
    }

    public boolean ok() {
        return failure == null;
    }
}
