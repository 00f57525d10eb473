package forkserver.bench;

import java.time.Duration;

/**
 * How much load each model gets; every loop of the load generator is bounded by these counts
 * and by {@link #seconds} (plus the clients' read time-outs).
 *
 * @param warmup      sequential sessions before measuring (class loading, the page cache)
 * @param sessions    sequential sessions timed for the first-echo latency
 * @param connections the burst's simultaneous new connections, and the connections held open
 * @param roundTrips  round trips on each held connection
 * @param seconds     length of the sustained run
 * @param concurrency clients running sessions back to back in the sustained run
 * @param maxSustained a cap on the sustained run's sessions, whatever the rate
 */
public record Workload(int warmup, int sessions, int connections, int roundTrips, int seconds, int concurrency,
                       int maxSustained) {

    public static final Workload QUICK = new Workload(3, 20, 10, 5, 3, 4, 50_000);
    public static final Workload FULL = new Workload(10, 200, 50, 20, 10, 4, 500_000);

    public Duration sustained() {
        return Duration.ofSeconds(seconds);
    }

    public Workload withSessions(int n) {
        return new Workload(Math.min(warmup, n), n, connections, roundTrips, seconds, concurrency, maxSustained);
    }

    public Workload withConnections(int k) {
        return new Workload(warmup, sessions, k, roundTrips, seconds, concurrency, maxSustained);
    }

    public Workload withSeconds(int s) {
        return new Workload(warmup, sessions, connections, roundTrips, s, concurrency, maxSustained);
    }

    /**
     * A rough guess of one model's time in seconds, for the estimate printed before a run: three
     * server starts (a JVM's second at most), the sessions at what a connection typically costs
     * that kind of model on two cores, and the sustained run.
     */
    public double estimateSeconds(Model model) {
        double start = 1.0;
        double perConnection = switch (model.perConnection()) {
            case JVM -> 0.12;
            case PROCESS -> 0.01;
            case NOTHING -> 0.002;
        };
        return 3 * start + (warmup + sessions + 2.0 * connections) * perConnection
                + (warmup + sessions) * model.pace().toMillis() / 1000.0
                + connections * roundTrips * 0.001 + seconds + 2;
    }

    @Override
    public String toString() {
        return sessions + " sequential sessions, bursts and holds of " + connections + " connections, "
                + seconds + " s sustained by " + concurrency + " clients";
    }
}
