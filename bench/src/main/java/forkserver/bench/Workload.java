package forkserver.bench;

import java.time.Duration;
import java.util.List;

/**
 * How much load each model gets; every loop of the load generator is bounded by these counts
 * and by {@link #seconds} (plus the clients' read time-outs).
 *
 * @param warmup      rounds of one sequential session per model before measuring (class loading, the page cache)
 * @param sessions    rounds of one sequential session per model, timed for the first-echo latency
 * @param bursts      rounds of one burst per model
 * @param connections the burst's simultaneous new connections, and the connections held open
 * @param roundTrips  round trips on each held connection
 * @param seconds     length of each model's sustained run, in slices of about a second, one per round
 * @param concurrency clients running sessions back to back in the sustained run
 * @param maxSustained a cap on the sustained run's sessions, whatever the rate
 * @param ladder      the scale ladder: connections held at once by each model ({@link Scale}); empty: none
 * @param scaleRounds rounds of every rung, for the range of its memory figures
 * @param scaleOpenSeconds a rung whose connections would take longer than this to open, a round (judged
 *                    from the rung below), is skipped for that model: the full run's 120 s lets the native
 *                    process models open 10,000 (about 45 to 75 s a round here) and a JVM per connection
 *                    100 (about 25 s), not 1000 (minutes a round)
 */
public record Workload(int warmup, int sessions, int bursts, int connections, int roundTrips, int seconds,
                       int concurrency, int maxSustained, List<Integer> ladder, int scaleRounds, double scaleOpenSeconds) {

    public static final Workload QUICK = new Workload(2, 10, 1, 10, 5, 1, 4, 50_000, Scale.QUICK_LADDER, 2, 1);
    public static final Workload FULL = new Workload(10, 200, 3, 50, 20, 10, 4, 500_000, Scale.LADDER, 3, 120);

    /** The sustained run is cut into slices of about a second, one per model per round. */
    public int slices() {
        return Math.max(1, seconds);
    }

    public Duration sustained() {
        return Duration.ofSeconds(seconds);
    }

    public Workload withSessions(int n) {
        return new Workload(Math.min(warmup, n), n, bursts, connections, roundTrips, seconds, concurrency, maxSustained,
                ladder, scaleRounds, scaleOpenSeconds);
    }

    public Workload withConnections(int k) {
        return new Workload(warmup, sessions, bursts, k, roundTrips, seconds, concurrency, maxSustained, ladder,
                scaleRounds, scaleOpenSeconds);
    }

    public Workload withLadder(List<Integer> rungs) {
        return new Workload(warmup, sessions, bursts, connections, roundTrips, seconds, concurrency, maxSustained,
                List.copyOf(rungs), scaleRounds, scaleOpenSeconds);
    }

    public Workload withSeconds(int s) {
        return new Workload(warmup, sessions, bursts, connections, roundTrips, s, concurrency, maxSustained, ladder,
                scaleRounds, scaleOpenSeconds);
    }

    /**
     * A rough guess of one model's time in seconds, for the estimate printed before a run: three
     * server starts (half a second, a JVM's most of the time), the sessions at what a connection typically costs
     * that kind of model on two cores (a server with spares: the refill of its pool, one JVM start,
     * after each), and the sustained run.
     */
    public double estimateSeconds(Model model) {
        double start = 0.5;
        double perConnection = switch (model.perConnection()) {
            case JVM -> 0.12;
            case PROCESS -> 0.01;
            case NOTHING -> 0.002;
        };
        double refill = model.idleChildren() > 0 ? 0.35 : 0;
        return 3 * start + (warmup + sessions) * (perConnection + refill) + 2.0 * bursts * connections * perConnection
                + connections * roundTrips * 0.001 + seconds;
    }

    @Override
    public String toString() {
        return sessions + " sequential sessions, bursts and holds of " + connections + " connections, "
                + seconds + " s sustained by " + concurrency + " clients"
                + (ladder.isEmpty() ? "" : "; the scale ladder " + ladder + " held, " + scaleRounds + " rounds each");
    }
}
