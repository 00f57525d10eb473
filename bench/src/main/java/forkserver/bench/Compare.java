package forkserver.bench;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code bin/bench --compare A B}: whether two reports' figures agree within their printed
 * intervals. For every model and rung measured in both, each figure that has an interval (charged
 * memory, PSS and the round trip from scale.csv, the first echo from models.csv when both reports
 * have one): whether A's median lies within B's [lowest–highest] and B's within A's, a memory
 * figure within its resolution ({@code < R}) standing for the interval [−R, R] (it lies within the
 * other's interval when the two overlap). A figure agrees when at least one run's lies within the
 * other's: with three rounds' [lowest–highest] as the interval, asking both would often call two runs
 * of one distribution different. Exit status 0 when every figure
 * compared agrees, 1 when one differs, 2 when a report cannot be read.
 */
final class Compare {

    /** A figure with an interval, as the CSV names its columns; {@code resolution} null where it has none. */
    private record Figure(String title, String median, String low, String high, String resolution) {
    }

    private static final List<Figure> SCALE = List.of(
            new Figure("charged KiB", "charged_kib_per_conn", "charged_low", "charged_high", "charged_resolution_kib"),
            new Figure("PSS KiB", "pss_kib_per_conn", "pss_low", "pss_high", "pss_resolution_kib"),
            new Figure("round trip ms", "round_trip_p50_ms", "round_trip_low_ms", "round_trip_high_ms", null));
    private static final List<Figure> MODELS = List.of(
            new Figure("first echo ms", "first_echo_p50_ms", "first_echo_p50_low_ms", "first_echo_p50_high_ms", null));

    /** One file's rows by key (model, or model and rung), each row by column name. */
    private record Table(Path file, Map<String, Map<String, String>> rows) {
    }

    /**
     * One figure's cell: its median and the interval it stands for; {@code noise} when the median is
     * within the resolution, shown {@code < R}: then the cell offers no median, only [−R, R].
     */
    private record Cell(double median, double low, double high, String shown, boolean noise) {

        /** Whether this cell's figure lies within {@code other}'s interval: its median, or its whole [−R, R] reaching into it. */
        boolean within(Cell other) {
            return noise ? low <= other.high && high >= other.low : median >= other.low && median <= other.high;
        }
    }

    private Compare() {
    }

    static int run(Path a, Path b, PrintStream out, PrintStream err) {
        try {
            Table scaleA = read(a.resolve("scale.csv"), List.of("model", "held", "status"), SCALE);
            Table scaleB = read(b.resolve("scale.csv"), List.of("model", "held", "status"), SCALE);
            boolean models = Files.exists(a.resolve("models.csv")) && Files.exists(b.resolve("models.csv"));
            Table modelsA = models ? read(a.resolve("models.csv"), List.of("model", "status"), MODELS) : null;
            Table modelsB = models ? read(b.resolve("models.csv"), List.of("model", "status"), MODELS) : null;
            out.println("compare: A = " + a + ", B = " + b + "; a figure agrees when A's median (or a '< R' cell's [-R, R])"
                    + " lies within B's [lowest–highest], or B's within A's, all as printed");
            Map<String, int[]> tally = new LinkedHashMap<>();
            List<String> oneOnly = new ArrayList<>();
            compare(scaleA, scaleB, SCALE, out, tally, oneOnly);
            if (models) {
                compare(modelsA, modelsB, MODELS, out, tally, oneOnly);
            }
            oneOnly.forEach(out::println);
            int compared = tally.values().stream().mapToInt(t -> t[0]).sum();
            int differ = tally.values().stream().mapToInt(t -> t[1]).sum();
            List<String> parts = new ArrayList<>();
            tally.forEach((title, t) -> parts.add(title + " " + (t[0] - t[1]) + " of " + t[0]));
            out.println("compare: " + (compared - differ) + " of " + compared + " figures agree (" + String.join(", ", parts)
                    + "), " + differ + " differ, " + oneOnly.size() + " measured in one run only"
                    + (models ? "" : "; models.csv not in both, first echo not compared"));
            return differ == 0 ? 0 : 1;
        } catch (IllegalArgumentException e) {
            err.println("bench: --compare: " + e.getMessage());
            return 2;
        }
    }

    private static void compare(Table a, Table b, List<Figure> figures, PrintStream out,
                                Map<String, int[]> tally, List<String> oneOnly) {
        for (Map.Entry<String, Map<String, String>> entry : a.rows().entrySet()) {
            String key = entry.getKey();
            Map<String, String> x = entry.getValue();
            Map<String, String> y = b.rows().get(key);
            boolean inA = "ok".equals(x.get("status"));
            boolean inB = y != null && "ok".equals(y.get("status"));
            if (inA != inB) {
                oneOnly.add(key + ": measured in " + (inA ? "A" : "B") + " only");
            }
            if (!inA || !inB) {
                continue;
            }
            for (Figure figure : figures) {
                Cell p = cell(x, figure, a.file());
                Cell q = cell(y, figure, b.file());
                if (p == null || q == null) {
                    continue; // not measured in one (no memory cgroup there): nothing to compare
                }
                boolean aInB = p.within(q);
                boolean bInA = q.within(p);
                int[] t = tally.computeIfAbsent(figure.title(), k -> new int[2]);
                t[0]++;
                String verdict = aInB && bInA ? "agree (each within the other's interval)"
                        : aInB ? "agree (A's within B's interval)"
                        : bInA ? "agree (B's within A's interval)" : "DIFFER";
                if (!aInB && !bInA) {
                    t[1]++;
                }
                out.println(key + ", " + figure.title() + ": A " + p.shown() + ", B " + q.shown() + ": " + verdict);
            }
        }
        for (String key : b.rows().keySet()) {
            if (!a.rows().containsKey(key) && "ok".equals(b.rows().get(key).get("status"))) {
                oneOnly.add(key + ": measured in B only");
            }
        }
    }

    /** The figure's cell in one row, or null where the row has none (an empty median). */
    private static Cell cell(Map<String, String> row, Figure figure, Path file) {
        double median = number(row, figure.median(), file);
        if (Double.isNaN(median)) {
            return null;
        }
        double low = number(row, figure.low(), file);
        double high = number(row, figure.high(), file);
        if (Double.isNaN(low) || Double.isNaN(high)) {
            low = median;
            high = median;
        }
        double resolution = figure.resolution() == null ? Double.NaN : number(row, figure.resolution(), file);
        if (!Double.isNaN(resolution) && Math.abs(median) <= resolution) {
            return new Cell(median, -printed(resolution), printed(resolution), "< " + Report.number(resolution), true);
        }
        return new Cell(printed(median), printed(low), printed(high),
                Report.number(median) + " [" + Report.number(low) + "–" + Report.number(high) + "]", false);
    }

    /**
     * {@code v} as the report prints it: the figures are compared as a reader sees them, so that
     * two runs printing 627 [627–627] agree though their rounds differ in the fourth digit.
     */
    private static double printed(double v) {
        return Double.parseDouble(Report.number(v));
    }

    private static double number(Map<String, String> row, String column, Path file) {
        String text = row.get(column);
        if (text.isEmpty()) {
            return Double.NaN;
        }
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(file + ": " + column + " is not a number: '" + text + "'");
        }
    }

    /** A report's CSV file, each row keyed by its model (and rung), with the columns {@code figures} need. */
    private static Table read(Path file, List<String> keys, List<Figure> figures) {
        Csv.Records records = Csv.read(file);
        List<String> needed = new ArrayList<>(keys);
        for (Figure f : figures) {
            needed.addAll(f.resolution() == null ? List.of(f.median(), f.low(), f.high())
                    : List.of(f.median(), f.low(), f.high(), f.resolution()));
        }
        for (String column : needed) {
            if (!records.header().contains(column)) {
                throw new IllegalArgumentException(file + ": no column '" + column + "' in its header");
            }
        }
        Map<String, Map<String, String>> byKey = new LinkedHashMap<>();
        for (Map<String, String> row : records.rows()) {
            String key = keys.contains("held") ? row.get("model") + " at " + row.get("held") + " held" : row.get("model");
            if (byKey.put(key, row) != null) {
                throw new IllegalArgumentException(file + ": " + key + " twice");
            }
        }
        return new Table(file, byKey);
    }
}
