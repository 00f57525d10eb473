package forkserver.bench;

import forkserver.bench.Scale.Point;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * The results as text: the models' table and its legend, the ratios, the outside check, the scale
 * ladder's tables, the conclusions on the article's claims, and the CSV files. Everything here is
 * computed from the figures of one run; nothing is written by hand.
 */
final class Report {

    private Report() {
    }

    /** The models' table: one row per model, named with its regime. */
    static String table(List<Figures> rows, Workload work) {
        StringBuilder s = new StringBuilder();
        boolean maxNotP99 = rows.stream().anyMatch(f -> f.ok() && f.firstEcho().n() < Stats.P99_MIN_SAMPLES);
        s.append("| model | first echo p50 ms [95% interval] (N) | first echo ").append(maxNotP99 ? "max" : "p99")
                .append(" ms | burst of ").append(work.connections())
                .append(": all answered ms | held round trip p50 ms | sessions/s | CPU ms per session"
                        + " | context switches per session (vol+invol) |\n");
        s.append("|---|--:|--:|--:|--:|--:|--:|--:|\n");
        for (Figures f : rows) {
            if (!f.ok()) {
                s.append("| ").append(f.model().label()).append(" | FAILED: ")
                        .append(f.failure().replace('|', '/').replace('\n', ' ')).append(" |||||||\n");
                continue;
            }
            String switches = Double.isNaN(f.voluntaryPerConn()) ? "n/a"
                    : number(f.voluntaryPerConn()) + "+" + number(f.involuntaryPerConn());
            s.append("| ").append(String.join(" | ", f.model().label(), interval(f.firstEcho()) + " (" + f.firstEcho().n() + ")",
                    number(f.firstEchoP99Ms()), number(f.burstMs()), number(f.heldRoundTripP50Ms()),
                    number(f.connectionsPerSec()), number(f.cpuMsPerConn()), switches))
                    .append(" |\n");
        }
        return s.toString();
    }

    /** Every column of the models' table, named. */
    static String legend(Workload work) {
        return "Columns: **first echo**: connect, send a line, read it back, on a fresh connection, sessions one at a time"
                + " (median, its distribution-free 95% interval, the number of sessions; then the 99th percentile, or the"
                + " maximum below " + Stats.P99_MIN_SAMPLES + " sessions); **burst**: " + work.connections()
                + " new connections at once, until every one has answered (median of the bursts); **held round trip**:"
                + " a line's round trip on one of " + work.connections() + " connections held open; **sessions/s**: whole"
                + " sessions completed by " + work.concurrency() + " clients back to back; **CPU ms per session**: the"
                + " server's whole tree, user + system, from /proc (children it reaped included) over the sustained run;"
                + " **context switches**: voluntary + involuntary per session, from /usr/bin/time -v (a sustained server"
                + " minus an idle one). Memory is measured on the scale ladder below. `spares (pool full)`: before each"
                + " timed session the bench waits until the pool of " + Models.SPARES + " spare workers is full again, as"
                + " spares are meant to run; in the sustained run every session takes a spare and the supervisor starts"
                + " another, so its CPU per session includes that spare's JVM start and warm-up (its warm-up session"
                + " and the JIT work it causes), paid ahead of the connection instead of during it; that is why it is"
                + " above `process`.\n";
    }

    /** "a process costs N× the first-echo latency ..." from this run's rows, where both are measured. */
    static String ratios(List<Figures> rows) {
        List<String> parts = new ArrayList<>();
        compare(rows, "process", "thread", "a process (a JVM each)", "a platform thread").ifPresent(parts::add);
        compare(rows, "process-native", "thread", "a native process", "a platform thread").ifPresent(parts::add);
        compare(rows, "seed-fork", "seed-thread", "the article's forked process", "its thread").ifPresent(parts::add);
        compare(rows, "seed-thread", "seed-callback", "the article's thread", "its callback loop").ifPresent(parts::add);
        compare(rows, "seed-thread", "seed-asyncio", "the article's thread", "its coroutine").ifPresent(parts::add);
        sparesLatency(rows).ifPresent(parts::add);
        if (parts.isEmpty()) {
            return "No ratios: they need a process model and a thread model to compare, both passing.";
        }
        return "Measured ratios: " + String.join("; ", parts) + ".";
    }

    private static Optional<String> compare(List<Figures> rows, String a, String b, String what, String against) {
        Optional<Figures> x = find(rows, a);
        Optional<Figures> y = find(rows, b);
        if (x.isEmpty() || y.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(what + " costs " + times(x.get().firstEchoP50Ms(), y.get().firstEchoP50Ms())
                + " the first-echo latency and " + times(x.get().cpuMsPerConn(), y.get().cpuMsPerConn())
                + " the CPU per session of " + against);
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
                .map(f -> f.model().name() + " " + number(f.cpuMsPerConn()) + " vs " + number(f.outsideCpuMsPerConn()))
                .toList();
        if (pairs.isEmpty()) {
            return "Outside check: not made (" + TimeReport.PROGRAM + " is missing).";
        }
        return "Outside check, CPU ms per session from /proc vs " + TimeReport.PROGRAM
                + " -v (sustained server minus an idle one): " + String.join(", ", pairs) + ".";
    }

    /** The scale ladder: four tables (charged, PSS, round trip, tasks), one row a model, one column a rung. */
    static String scale(Scale.Figures scale, List<Model> models) {
        StringBuilder s = new StringBuilder();
        s.append("Each model holds N connections at once, N = ").append(scale.ladder()).append(", ")
                .append(scale.rounds()).append(" rounds of each rung, the models interleaved. Memory per held connection is")
                .append(" (held − idle) / N: **charged** is what the kernel charges the server's memory cgroup")
                .append(" (memory.usage_in_bytes: user pages and kernel memory, each task's kernel stack, task struct and")
                .append(" page tables, socket and file structures), **PSS** the user pages only (/proc/PID/smaps_rollup,")
                .append(" shared pages divided among their users), summed over the server's tree. Cells show the median of")
                .append(" the rounds [their lowest–highest]; `< R` is a figure within R, what the idle server drifted by on")
                .append(" its own (at least a page, and for the charge the kernel's per-CPU charge batches, ")
                .append(MemoryCgroup.CHARGE_BATCH_KIB).append(" KiB a CPU), spread over N. The ratios and conclusions use")
                .append(" the charged figure. `—`: not measured at that rung (why, below the tables).\n\n");
        if (scale.cgroupMissing() != null) {
            s.append("Charged memory: not measured: ").append(scale.cgroupMissing()).append(".\n\n");
        }
        s.append(ladderTable(scale, models, "charged KiB per held connection",
                p -> memory(p.charged(), p.chargedResolution())));
        s.append(ladderTable(scale, models, "PSS KiB per held connection", p -> memory(p.pss(), p.pssResolution())));
        s.append(ladderTable(scale, models, "round trip ms with N held, p50 [95% interval]", p -> interval(p.roundTrip())));
        s.append(ladderTable(scale, models, "threads / processes with N held", p -> p.threads() + " / " + p.processes()));
        s.append(ladderTable(scale, models, "the server's own process with N held, its children apart: RSS / PSS MiB,"
                + " threads (idle before them → with them)", p -> String.format(Locale.ROOT, "%.1f / %.1f, %d → %.1f / %.1f, %d",
                p.ownIdle().rssKiB() / 1024, p.ownIdle().pssKiB() / 1024, p.ownIdle().threads(),
                p.own().rssKiB() / 1024, p.own().pssKiB() / 1024, p.own().threads())));
        List<String> skipped = scale.points().stream().filter(p -> !p.measured() && !p.notMeasured().startsWith("not measured at"))
                .map(p -> "- " + p.model().label() + " at " + p.held() + ": " + p.notMeasured().replace('\n', ' '))
                .toList();
        if (!skipped.isEmpty()) {
            s.append("Not measured (the rungs above each are not measured either):\n\n").append(String.join("\n", skipped)).append("\n");
        }
        return s.toString();
    }

    private static String ladderTable(Scale.Figures scale, List<Model> models, String title, Function<Point, String> cell) {
        StringBuilder s = new StringBuilder("| ").append(title).append(" |");
        scale.ladder().forEach(n -> s.append(" ").append(n).append(" |"));
        s.append("\n|---|").append("--:|".repeat(scale.ladder().size())).append("\n");
        for (Model model : models) {
            s.append("| ").append(model.label()).append(" |");
            for (int n : scale.ladder()) {
                Point p = scale.at(model.name(), n);
                s.append(" ").append(p == null || !p.measured() ? "—" : cell.apply(p)).append(" |");
            }
            s.append("\n");
        }
        return s.append("\n").toString();
    }

    /** A memory figure with its range, or "< R" when its median is within the resolution R. */
    static String memory(Stats.Median m, double resolution) {
        if (Double.isNaN(m.value())) {
            return "n/a";
        }
        if (Math.abs(m.value()) <= resolution) {
            return "< " + number(resolution);
        }
        return m.n() > 1 ? interval(m) : number(m.value());
    }

    /**
     * For each of the article's claims, what this run measured: the charged memory at the highest
     * rung both models reached, the round trip with the most held, the CPU per session.
     */
    static String conclusions(List<Figures> rows, Scale.Figures scale) {
        List<String> out = new ArrayList<>();
        if (scale != null) {
            out.add("**\"Processes cost more memory\"** (than threads). " + memoryClaim(scale, "seed-fork", "seed-thread",
                    "The article's fork server", "its thread server") + " " + memoryClaim(scale, "process-native", "thread",
                    "Java's supervisor with a native child", "a platform thread") + " " + memoryClaim(scale, "process", "thread",
                    "A worker JVM per connection", "a platform thread"));
        }
        out.add("**\"Processes have a higher switching cost.\"** " + cpuClaim(rows, "seed-fork", "seed-thread",
                "The article's fork server", "its thread server") + " " + cpuClaim(rows, "process-native", "thread",
                "Java's supervisor with a native child", "a platform thread")
                + (scale == null ? "" : " " + roundTripClaim(scale, "seed-fork", "seed-thread", "fork server", "thread server")));
        if (scale != null) {
            out.add("**\"Threads cost more than callbacks and coroutines, at scale.\"** " + memoryClaim(scale, "seed-thread",
                    "seed-callback", "The article's thread server", "its callback server") + " " + memoryClaim(scale,
                    "seed-thread", "seed-asyncio", "Its thread server", "its asyncio server") + " " + memoryClaim(scale,
                    "thread", "eventloop", "Java's platform thread", "its event loop") + " " + memoryClaim(scale, "thread",
                    "virtual", "A platform thread", "a virtual thread"));
        }
        return "Conclusions, computed from the figures above:\n\n" + String.join("\n\n", out) + "\n";
    }

    /** One comparison of charged memory per held connection at the highest rung both were measured at. */
    static String memoryClaim(Scale.Figures scale, String a, String b, String what, String against) {
        int held = highestBoth(scale, a, b);
        if (held < 0) {
            return what + " and " + against + ": not both measured.";
        }
        Point x = scale.at(a, held);
        Point y = scale.at(b, held);
        if (Double.isNaN(x.charged().value())) {
            return what + " and " + against + ": no charged memory measured.";
        }
        String xs = memory(x.charged(), x.chargedResolution()) + " KiB";
        String ys = memory(y.charged(), y.chargedResolution()) + " KiB";
        String head = what + " is charged " + xs + " a held connection at " + held + " held, " + against + " " + ys;
        double num = x.clearCharged();
        double den = y.clearCharged();
        if (!Double.isNaN(num) && !Double.isNaN(den)) {
            return head + ": " + times(num, den) + (num > den ? ", as the claim says." : ", against the claim.");
        }
        if (!Double.isNaN(num) && Double.isNaN(den)) {
            // Its true value is at most its highest round, or the noise if that is higher.
            double bound = Math.max(Double.isNaN(y.charged().high()) ? 0 : y.charged().high(), y.chargedResolution());
            return head + ": the second is not clear of its noise (" + number(y.chargedResolution())
                    + " KiB), so no ratio; the first is at least " + times(num, bound) + " of it"
                    + (num > bound ? ", as the claim says." : ".");
        }
        return head + ": within the noise, no ratio.";
    }

    /** The highest rung at which both models were measured, or -1. */
    private static int highestBoth(Scale.Figures scale, String a, String b) {
        int held = -1;
        for (int n : scale.ladder()) {
            Point x = scale.at(a, n);
            Point y = scale.at(b, n);
            if (x != null && y != null && x.measured() && y.measured()) {
                held = n;
            }
        }
        return held;
    }

    private static String cpuClaim(List<Figures> rows, String a, String b, String what, String against) {
        Optional<Figures> x = find(rows, a);
        Optional<Figures> y = find(rows, b);
        if (x.isEmpty() || y.isEmpty()) {
            return what + " and " + against + ": not both measured.";
        }
        Figures p = x.get();
        Figures q = y.get();
        String switches = Double.isNaN(p.voluntaryPerConn()) || Double.isNaN(q.voluntaryPerConn()) ? ""
                : ", " + number(p.voluntaryPerConn() + p.involuntaryPerConn()) + " context switches a session against "
                + number(q.voluntaryPerConn() + q.involuntaryPerConn());
        return what + " spends " + number(p.cpuMsPerConn()) + " ms of CPU a session (fork, page faults and exit"
                + " included) against " + number(q.cpuMsPerConn()) + " for " + against + " ("
                + times(p.cpuMsPerConn(), q.cpuMsPerConn()) + (p.cpuMsPerConn() > q.cpuMsPerConn()
                ? ", as the claim says" : ", against the claim") + ")" + switches + ".";
    }

    private static String roundTripClaim(Scale.Figures scale, String a, String b, String what, String against) {
        int held = highestBoth(scale, a, b);
        if (held < 0) {
            return "";
        }
        Stats.Median x = scale.at(a, held).roundTrip();
        Stats.Median y = scale.at(b, held).roundTrip();
        boolean apart = x.low() > y.high() || y.low() > x.high();
        return "With " + held + " held, a line's round trip is " + number(x.value()) + " ms on the " + what + " and "
                + number(y.value()) + " ms on the " + against
                + (apart ? " (" + times(x.value(), y.value()) + ", their 95% intervals apart"
                + (x.value() > y.value() ? ", as the claim says)." : ", against the claim).")
                : ": their 95% intervals overlap, no difference measured in switching to the one connection's task.");
    }

    static String csv(List<Figures> rows) {
        return Csv.write(Csv.MODELS, rows);
    }

    static String scaleCsv(Scale.Figures scale) {
        return Csv.write(Csv.SCALE, scale.points());
    }

    /** Every column of the CSV files the report comes with, named: those of scale.csv when the ladder ran. */
    static String csvLegend(boolean scale) {
        return "Every figure above, unrounded, is in models.csv" + (scale ? " and scale.csv" : "") + " beside this report"
                + " (empty where there is none). " + Csv.legend("models.csv", Csv.MODELS)
                + (scale ? "\n\n" + Csv.legend("scale.csv", Csv.SCALE) : "") + "\n";
    }

    static String interval(Stats.Median m) {
        return number(m.value()) + " [" + number(m.low()) + "–" + number(m.high()) + "]";
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
        return rows.stream().filter(f -> f.model().name().equals(model) && f.ok()).findFirst();
    }
}
