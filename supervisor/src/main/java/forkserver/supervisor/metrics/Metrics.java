package forkserver.supervisor.metrics;

import forkserver.supervisor.base.Reason;
import forkserver.supervisor.log.DurationHistogram;
import forkserver.supervisor.log.Totals;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot.InfoDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntSupplier;

/**
 * What {@code --metrics} reports, read at each scrape from what the supervisor counts anyway
 * ({@link Totals}, the admission's children, the spares): nothing is counted for the metrics
 * alone, so the accept path does the same work with or without them. The names, types and
 * labels are in the README; the reasons and outcomes are the log's and the status line's.
 *
 * <p>Only this class and {@link MetricsEndpoint} use the Prometheus client (its data model and
 * text formats), and only with {@code --metrics}: without it no class of that library is loaded.
 */
public final class Metrics {

    /** What the metrics read, besides the totals: live values of the supervisor. */
    public record Sources(String version, Totals totals, IntSupplier children, int maxChildren, IntSupplier sparesIdle, int sparesTarget) {
    }

    private final Sources sources;

    public Metrics(Sources sources) {
        this.sources = sources;
    }

    /** The metrics now, for one scrape. */
    MetricSnapshots collect() {
        Totals totals = sources.totals();
        List<MetricSnapshot> metrics = new ArrayList<>();
        metrics.add(InfoSnapshot.builder().name("forkserver_build")
                .help("The forkserver version and the Java runtime it runs on")
                .dataPoint(InfoDataPointSnapshot.builder().labels(Labels.of(
                        "version", sources.version(), "java_version", Runtime.version().toString())).build())
                .build());
        metrics.add(counter("forkserver_connections_accepted",
                "Connections taken from the listen queue, rejected ones included", totals.accepted()));
        // Every reason from the start, at 0: a rate() over a series that appears late misses its first increase.
        Map<String, Long> rejected = new TreeMap<>();
        for (Reason reason : Reason.values()) {
            rejected.put(reason.text, 0L);
        }
        rejected.putAll(totals.rejectedByReason());
        metrics.add(labelled("forkserver_connections_rejected",
                "Connections turned away, by reason (as the log's reject and spawn-failed lines name it)", "reason", rejected));
        metrics.add(gauge("forkserver_children", "Children running now, each holding a connection",
                sources.children().getAsInt()));
        metrics.add(gauge("forkserver_children_max", "The most children at once (-c, --max-children)", sources.maxChildren()));
        metrics.add(gauge("forkserver_spares_idle", "Spare workers started and ready for a connection",
                sources.sparesIdle().getAsInt()));
        metrics.add(gauge("forkserver_spares_target", "Spare workers the supervisor keeps (--spares)", sources.sparesTarget()));
        metrics.add(labelled("forkserver_child_exits",
                "Children that ended, by outcome: status-N for an exit status, signal-NAME for a signal, oom-kill", "outcome",
                totals.exitedByStatus()));
        metrics.add(histogram("forkserver_spawn_duration_seconds",
                "From accepting a connection to its child started (spawned, or a spare's acknowledgement)",
                totals.spawnDurations()));
        metrics.add(histogram("forkserver_session_duration_seconds",
                "How long children ran, from start to end", totals.sessionDurations()));
        // A boxed connection's cost (empty histograms when connections are not boxed).
        metrics.add(histogram("forkserver_child_cpu_seconds",
                "CPU time (user + system) of all the processes of a boxed connection, at its end", totals.childCpu()));
        metrics.add(histogram("forkserver_child_memory_peak_bytes",
                "Peak memory charged to a boxed connection's processes together, at its end", totals.childMemoryPeaks()));
        metrics.add(counter("forkserver_child_oom_kills",
                "Boxed connections in which the kernel's OOM killer killed a process (their outcome is oom-kill)",
                totals.oomKills()));
        metrics.add(counter("forkserver_proxy_health_checks",
                "PROXY protocol health checks answered without a child", totals.proxyHealthChecks()));
        metrics.add(counter("forkserver_stderr_dropped_lines",
                "Lines of children's stderr dropped because a child wrote faster than the log takes",
                totals.stderrDroppedLines()));
        return new MetricSnapshots(metrics);
    }

    private static CounterSnapshot counter(String name, String help, long value) {
        return CounterSnapshot.builder().name(name).help(help)
                .dataPoint(CounterDataPointSnapshot.builder().value(value).build()).build();
    }

    private static CounterSnapshot labelled(String name, String help, String label, Map<String, Long> values) {
        CounterSnapshot.Builder counter = CounterSnapshot.builder().name(name).help(help);
        values.forEach((value, count) -> counter.dataPoint(
                CounterDataPointSnapshot.builder().labels(Labels.of(label, value)).value(count).build()));
        return counter.build();
    }

    private static GaugeSnapshot gauge(String name, String help, double value) {
        return GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeDataPointSnapshot.builder().value(value).build()).build();
    }

    private static HistogramSnapshot histogram(String name, String help, DurationHistogram.Snapshot reading) {
        return HistogramSnapshot.builder().name(name).help(help)
                .dataPoint(HistogramDataPointSnapshot.builder()
                        .classicHistogramBuckets(ClassicHistogramBuckets.of(reading.upperBounds(), reading.counts()))
                        .sum(reading.sum()).build())
                .build();
    }
}
