package forkserver.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The results as text: the Markdown table, the ratios line, the outside check, the CSV. */
final class Report {

    private Report() {
    }

    static String table(List<Figures> rows, Workload work) {
        StringBuilder s = new StringBuilder();
        boolean maxNotP99 = rows.stream().anyMatch(f -> f.ok() && f.firstEcho().n() < Stats.P99_MIN_SAMPLES);
        s.append("| model | first echo p50 ms [95% interval] (N) | first echo ").append(maxNotP99 ? "max" : "p99")
                .append(" ms | burst of ").append(work.connections())
                .append(": all answered ms | PSS per held conn KiB | RSS per held conn KiB | held round trip p50 ms"
                        + " | sessions/s | CPU ms per session | context switches per session (vol+invol) |\n");
        s.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for (Figures f : rows) {
            if (!f.ok()) {
                s.append("| ").append(f.model()).append(" | FAILED: ").append(f.failure().replace('|', '/').replace('\n', ' '))
                        .append(" |||||||||\n");
                continue;
            }
            String switches = Double.isNaN(f.voluntaryPerConn()) ? "n/a"
                    : number(f.voluntaryPerConn()) + "+" + number(f.involuntaryPerConn());
            Stats.Median echo = f.firstEcho();
            s.append("| ").append(String.join(" | ", f.model(),
                    number(echo.value()) + " [" + number(echo.low()) + "–" + number(echo.high()) + "] (" + echo.n() + ")",
                    number(f.firstEchoP99Ms()), number(f.burstMs()), memory(f.pssPerConnKiB(), f.memoryResolutionKiB()),
                    memory(f.rssPerConnKiB(), f.memoryResolutionKiB()), number(f.heldRoundTripP50Ms()),
                    number(f.connectionsPerSec()), number(f.cpuMsPerConn()), switches))
                    .append(" |\n");
        }
        return s.toString();
    }

    /** A memory figure, or "< R" when it is within what the idle server drifts by on its own. */
    static String memory(double kib, double resolution) {
        if (Double.isNaN(kib)) {
            return "n/a";
        }
        return Math.abs(kib) <= resolution ? "< " + number(resolution) : number(kib);
    }

    /** "a process costs N× the memory and M× the first-echo latency of a thread; ..." from this run's rows. */
    static String ratios(List<Figures> rows) {
        List<String> parts = new ArrayList<>();
        compare(rows, "process", "thread", "a process (a JVM each)").ifPresent(parts::add);
        compare(rows, "process-native", "thread", "a native process").ifPresent(parts::add);
        compare(rows, "thread", "virtual", "a platform thread").ifPresent(parts::add);
        compare(rows, "thread", "eventloop", "a platform thread").ifPresent(parts::add);
        sparesLatency(rows).ifPresent(parts::add);
        if (parts.isEmpty()) {
            return "No ratios: they need the process or thread models and one to compare with, all passing.";
        }
        return "Measured ratios: " + String.join("; ", parts) + ".";
    }

    private static Optional<String> compare(List<Figures> rows, String a, String b, String what) {
        Optional<Figures> x = find(rows, a);
        Optional<Figures> y = find(rows, b);
        if (x.isEmpty() || y.isEmpty()) {
            return Optional.empty();
        }
        Figures p = x.get();
        Figures q = y.get();
        String article = b.equals("eventloop") ? "an event loop" : b.equals("virtual") ? "a virtual thread" : "a thread";
        return Optional.of(what + " costs " + times(p.measurablePssPerConnKiB(), q.measurablePssPerConnKiB()) + " the memory, "
                + times(p.firstEchoP50Ms(), q.firstEchoP50Ms()) + " the first-echo latency and "
                + times(p.cpuMsPerConn(), q.cpuMsPerConn()) + " the CPU per connection of " + article);
    }

    /** Spares exist for the first byte: their first echo against fork+exec of C and against a JVM on demand. */
    private static Optional<String> sparesLatency(List<Figures> rows) {
        Optional<Figures> spares = find(rows, "spares");
        Optional<Figures> forkExec = find(rows, "tcpserver-native");
        Optional<Figures> onDemand = find(rows, "process");
        if (spares.isEmpty() || (forkExec.isEmpty() && onDemand.isEmpty())) {
            return Optional.empty();
        }
        double first = spares.get().firstEchoP50Ms();
        List<String> against = new ArrayList<>();
        forkExec.ifPresent(t -> against.add(times(first, t.firstEchoP50Ms()) + " the first-echo latency of tcpserver running a native program"));
        onDemand.ifPresent(p -> against.add(times(first, p.firstEchoP50Ms()) + " that of a worker JVM started on demand"));
        return Optional.of("a worker JVM with spares ready answers in " + String.join(" and ", against));
    }

    /** The CPU per session measured inside (/proc) and outside (/usr/bin/time -v), side by side. */
    static String outsideCheck(List<Figures> rows) {
        List<String> pairs = rows.stream().filter(f -> f.ok() && !Double.isNaN(f.outsideCpuMsPerConn()))
                .map(f -> f.model() + " " + number(f.cpuMsPerConn()) + " vs " + number(f.outsideCpuMsPerConn()))
                .toList();
        if (pairs.isEmpty()) {
            return "Outside check: not made (" + TimeReport.PROGRAM + " is missing).";
        }
        return "Outside check, CPU ms per session from /proc vs " + TimeReport.PROGRAM
                + " -v (sustained server minus an idle one): " + String.join(", ", pairs) + ".";
    }

    static String csv(List<Figures> rows) {
        StringBuilder s = new StringBuilder("model,status,first_echo_p50_ms,first_echo_p99_ms,burst_ms,pss_per_conn_kib,"
                + "rss_per_conn_kib,held_round_trip_p50_ms,sessions_per_s,cpu_ms_per_session,"
                + "cpu_ms_per_session_time_v,voluntary_switches_per_session,involuntary_switches_per_session,"
                + "first_echo_n,first_echo_p50_low_ms,first_echo_p50_high_ms,memory_resolution_kib\n");
        for (Figures f : rows) {
            s.append(f.model()).append(',').append(f.ok() ? "ok" : "failed");
            for (double v : new double[] {f.firstEchoP50Ms(), f.firstEchoP99Ms(), f.burstMs(), f.pssPerConnKiB(),
                    f.rssPerConnKiB(), f.heldRoundTripP50Ms(), f.connectionsPerSec(), f.cpuMsPerConn(),
                    f.outsideCpuMsPerConn(), f.voluntaryPerConn(), f.involuntaryPerConn(), f.firstEcho().n(),
                    f.firstEcho().low(), f.firstEcho().high(), f.memoryResolutionKiB()}) {
                s.append(',').append(Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.4f", v));
            }
            s.append('\n');
        }
        return s.toString();
    }

    /** Three significant figures or so: 152, 15.2, 1.52, 0.152, 0.015. */
    static String number(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        double a = Math.abs(v);
        String format = a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f";
        return String.format(Locale.ROOT, format, v);
    }

    static String times(double a, double b) {
        if (!(a > 0) || !(b > 0)) {
            return "(too small to compare)";
        }
        double r = a / b;
        return String.format(Locale.ROOT, r >= 10 ? "%.0f×" : "%.1f×", r);
    }

    private static Optional<Figures> find(List<Figures> rows, String model) {
        return rows.stream().filter(f -> f.model().equals(model) && f.ok()).findFirst();
    }
}
