package forkserver.bench;

import forkserver.bench.Scale.Point;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The report's two CSV files, models.csv and scale.csv, in one place: each column is a name, what
 * it means and how its value is written, so that the header, the rows and the report's legend of
 * the columns come from the same list and a column cannot be added without its meaning. Also the
 * reading of such a file back ({@link #read}), for {@code --compare} and {@code --readme}.
 */
final class Csv {

    /** One column: its header name, what it means (for the legend), its value in a row. */
    record Column<T>(String name, String meaning, Function<T, String> value) {
    }

    static final List<Column<Figures>> MODELS = List.of(
            new Column<>("model", "the model's name with its regime, as in the tables", f -> name(f.model())),
            new Column<>("family", "its family, the charts' colour: " + families(), f -> f.model().family().name()),
            new Column<>("status", "`ok`, or `failed` when a session failed (the row's figures are then empty)",
                    f -> f.ok() ? "ok" : "failed"),
            new Column<>("first_echo_p50_ms", "first echo, the median of the sequential sessions, ms", f -> number(f.firstEchoP50Ms())),
            new Column<>("first_echo_p99_ms", "first echo, the 99th percentile (the maximum below " + Stats.P99_MIN_SAMPLES
                    + " sessions), ms", f -> number(f.firstEchoP99Ms())),
            new Column<>("burst_ms", "a burst of new connections at once until every one has answered, the median of the bursts, ms",
                    f -> number(f.burstMs())),
            new Column<>("held_round_trip_p50_ms", "a line's round trip on a held connection, the median, ms",
                    f -> number(f.heldRoundTripP50Ms())),
            new Column<>("sessions_per_s", "whole sessions a second in the sustained run", f -> number(f.connectionsPerSec())),
            new Column<>("cpu_ms_per_session", "the server's whole tree's CPU (user + system, from /proc) per session of the"
                    + " sustained run, ms", f -> number(f.cpuMsPerConn())),
            new Column<>("cpu_ms_per_session_time_v", "the same from " + TimeReport.PROGRAM + " -v, a sustained server minus an"
                    + " idle one: the outside check; empty without it", f -> number(f.outsideCpuMsPerConn())),
            new Column<>("voluntary_switches_per_session", "voluntary context switches per session, from " + TimeReport.PROGRAM
                    + " -v, likewise", f -> number(f.voluntaryPerConn())),
            new Column<>("involuntary_switches_per_session", "involuntary context switches per session, likewise",
                    f -> number(f.involuntaryPerConn())),
            new Column<>("first_echo_n", "the sessions the first-echo median is of", f -> number(f.firstEcho().n())),
            new Column<>("first_echo_p50_low_ms", "the low end of the first-echo median's distribution-free 95% interval, ms",
                    f -> number(f.firstEcho().low())),
            new Column<>("first_echo_p50_high_ms", "its high end, ms", f -> number(f.firstEcho().high())));

    static final List<Column<Point>> SCALE = List.of(
            new Column<>("model", "the model's name with its regime", p -> name(p.model())),
            new Column<>("family", "its family, as in models.csv", p -> p.model().family().name()),
            new Column<>("held", "the rung: connections held at once", p -> Integer.toString(p.held())),
            new Column<>("status", "`ok`, or `not measured` (then only `not_measured` says more)",
                    p -> p.measured() ? "ok" : "not measured"),
            new Column<>("rounds", "the rounds measured at this rung", p -> Integer.toString(p.charged().n())),
            new Column<>("charged_kib_per_conn", "the memory cgroup's charge per held connection, (held − idle) / N,"
                    + " the median of the rounds, KiB; empty without a memory cgroup", p -> number(p.charged().value())),
            new Column<>("charged_low", "the lowest round of it, KiB", p -> number(p.charged().low())),
            new Column<>("charged_high", "the highest round of it, KiB", p -> number(p.charged().high())),
            new Column<>("charged_resolution_kib", "what the idle server's charge drifted by on its own (at least the kernel's"
                    + " per-CPU charge batches) over N, KiB: a median within it is shown `< R`", p -> number(p.chargedResolution())),
            new Column<>("pss_kib_per_conn", "PSS per held connection, the server's tree summed, the median, KiB",
                    p -> number(p.pss().value())),
            new Column<>("pss_low", "the lowest round of it, KiB", p -> number(p.pss().low())),
            new Column<>("pss_high", "the highest round of it, KiB", p -> number(p.pss().high())),
            new Column<>("pss_resolution_kib", "what the idle server's PSS drifted by (at least a page) over N, KiB",
                    p -> number(p.pssResolution())),
            new Column<>("threads", "the server tree's threads with N held", p -> count(p, p.threads())),
            new Column<>("processes", "the server tree's processes with N held", p -> count(p, p.processes())),
            new Column<>("round_trip_p50_ms", "a line's round trip on a held connection with N held, the median, ms",
                    p -> number(p.roundTrip().value())),
            new Column<>("round_trip_low_ms", "the low end of its distribution-free 95% interval, ms", p -> number(p.roundTrip().low())),
            new Column<>("round_trip_high_ms", "its high end, ms", p -> number(p.roundTrip().high())),
            new Column<>("open_ms_per_conn", "opening one connection to its first echo while the others are held, the mean"
                    + " over the rounds, ms: what the next rung's time is judged from", p -> number(p.openMsPerConn())),
            new Column<>("server_idle_rss_kib", "the server's own process (the supervisor, for the process models; its"
                    + " children apart), idle before the sessions: RSS, KiB", p -> number(p.ownIdle().rssKiB())),
            new Column<>("server_idle_pss_kib", "likewise, PSS, KiB", p -> number(p.ownIdle().pssKiB())),
            new Column<>("server_idle_threads", "likewise, its threads", p -> count(p, p.ownIdle().threads())),
            new Column<>("server_rss_kib", "the server's own process with N held: RSS, KiB", p -> number(p.own().rssKiB())),
            new Column<>("server_pss_kib", "likewise, PSS, KiB", p -> number(p.own().pssKiB())),
            new Column<>("server_threads", "likewise, its threads", p -> count(p, p.own().threads())),
            new Column<>("not_measured", "why the rung was not measured (the machine's memory, time or pids it would take),"
                    + " empty when it was", p -> quote(p.measured() ? "" : p.notMeasured())));

    private Csv() {
    }

    static <T> String write(List<Column<T>> columns, List<T> rows) {
        StringBuilder s = new StringBuilder(columns.stream().map(Column::name).collect(Collectors.joining(","))).append('\n');
        for (T row : rows) {
            s.append(columns.stream().map(c -> c.value().apply(row)).collect(Collectors.joining(","))).append('\n');
        }
        return s.toString();
    }

    /** The legend of one file's columns, every one named: "`name`: meaning; ...". */
    static <T> String legend(String file, List<Column<T>> columns) {
        return "**" + file + "**: " + columns.stream().map(c -> "`" + c.name() + "`: " + c.meaning())
                .collect(Collectors.joining("; ")) + ".";
    }

    /**
     * The rows of a CSV file as this class writes it: fields split at commas outside double
     * quotes, a doubled quote inside quotes being one. Throws IllegalArgumentException naming the
     * line when a row's fields are not as many as the header's, or a quote is not closed.
     */
    static List<List<String>> parse(String text) {
        List<List<String>> rows = new ArrayList<>();
        List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
        for (int i = 0; i < lines.size(); i++) {
            List<String> fields = fields(lines.get(i), i + 1);
            if (!rows.isEmpty() && fields.size() != rows.getFirst().size()) {
                throw new IllegalArgumentException("line " + (i + 1) + ": " + fields.size() + " fields, the header has "
                        + rows.getFirst().size());
            }
            rows.add(fields);
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("empty");
        }
        return rows;
    }

    /** A CSV file read back: its header, and each row by column name. */
    record Records(List<String> header, List<Map<String, String>> rows) {
    }

    /**
     * {@code file}, a CSV file as this class writes it, read back ({@link #parse}); an unreadable
     * or malformed file is an IllegalArgumentException that names it (for one line to the user).
     */
    static Records read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + " (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + ")");
        }
        List<List<String>> lines;
        try {
            lines = parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage());
        }
        List<String> header = lines.getFirst();
        List<Map<String, String>> rows = new ArrayList<>();
        for (List<String> fields : lines.subList(1, lines.size())) {
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < header.size(); i++) {
                row.put(header.get(i), fields.get(i));
            }
            rows.add(row);
        }
        return new Records(header, rows);
    }

    private static List<String> fields(String line, int number) {
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted && c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                field.append('"');
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                fields.add(field.toString());
                field.setLength(0);
            } else {
                field.append(c);
            }
        }
        if (quoted) {
            throw new IllegalArgumentException("line " + number + ": a quote is not closed");
        }
        fields.add(field.toString());
        return fields;
    }

    private static String families() {
        return java.util.Arrays.stream(Model.Family.values()).map(f -> "`" + f.name() + "` (" + f.title() + ")")
                .collect(Collectors.joining(", "));
    }

    private static String name(Model model) {
        return model.regime() == null ? model.name() : quote(model.label());
    }

    private static String quote(String text) {
        return "\"" + text.replace("\"", "\"\"") + "\"";
    }

    /** A count, empty where the rung was not measured. */
    private static String count(Point p, long n) {
        return p.measured() ? number(n) : "";
    }

    /** Unrounded (four decimals), empty for NaN. */
    static String number(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.4f", v);
    }
}
