package forkserver.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The README's few figures of what a process per connection costs, written from the committed
 * report (its report.md's first line and its two CSV files) between two markers in README.md, so
 * that the README never quotes a figure the report does not have. {@code bin/bench --report
 * docs/bench} rewrites them; {@code bin/bench --readme} does so without running anything.
 */
final class ReadmeSummary {

    static final String BEGIN = "<!-- bench figures: written by bin/bench from docs/bench; not edited by hand -->";
    static final String END = "<!-- end of bench figures -->";

    /** "`bin/bench --report docs/bench` on 2026-12-03 10:48 UTC; Linux ..., 2 cores, ...". */
    private static final Pattern HEADER = Pattern.compile("^`[^`]*` on (\\d{4}-\\d{2}-\\d{2}) (\\d{2}:\\d{2}) UTC; .*?, (\\d+) cores?,");

    private ReadmeSummary() {
    }

    /** Rewrites the figures between the markers of {@code readme} from the report in {@code reportDir}. */
    static void update(Path readme, Path reportDir) throws IOException {
        String text = Files.readString(readme);
        Files.writeString(readme, replaced(text, render(reportDir), readme));
    }

    /** {@code text} with what lies between the markers replaced by {@code block}. */
    static String replaced(String text, String block, Path readme) {
        int begin = text.indexOf(BEGIN);
        int end = text.indexOf(END);
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException(readme + " has no '" + BEGIN + "' line followed by '" + END + "'");
        }
        return text.substring(0, begin + BEGIN.length()) + "\n" + block + text.substring(end);
    }

    /** What lies between the markers of a README in step with {@code text}, or null without markers. */
    static String current(String text) {
        int begin = text.indexOf(BEGIN);
        int end = text.indexOf(END);
        return begin < 0 || end < begin ? null : text.substring(begin + BEGIN.length() + 1, end);
    }

    /** The figures from the report in {@code reportDir}; IllegalArgumentException naming what is missing. */
    static String render(Path reportDir) throws IOException {
        String first = Files.readString(reportDir.resolve("report.md")).lines()
                .filter(l -> l.startsWith("`")).findFirst().orElse("");
        Matcher header = HEADER.matcher(first);
        if (!header.find()) {
            throw new IllegalArgumentException(reportDir.resolve("report.md") + ": no header line naming the date and the cores");
        }
        Map<String, Map<String, String>> models = rows(reportDir.resolve("models.csv"), false);
        Map<String, Map<String, String>> scale = rows(reportDir.resolve("scale.csv"), true);

        String firstEcho = "first echo, median: " + figure(models, "process", "first_echo_p50_ms", "ms")
                + " with a worker JVM started for the connection, " + figure(models, "spares (pool full)", "first_echo_p50_ms", "ms")
                + " with a spare worker ready (`--spares`), " + figure(models, "process-native", "first_echo_p50_ms", "ms")
                + " with a native program per connection (a cgroup box made and removed for each), " + figure(models, "thread", "first_echo_p50_ms", "ms")
                + " with a thread per connection in one JVM;";
        int jvmRung = highest(scale, "process", Integer.MAX_VALUE);
        int common = highestBoth(scale, "process-native", "thread");
        String memory = "memory per held connection, as the kernel charges it: "
                + figure(scale, "process at " + jvmRung, "charged_kib_per_conn", "KiB") + " for a worker JVM (" + jvmRung
                + " held), " + figure(scale, "process-native at " + common, "charged_kib_per_conn", "KiB")
                + " for a native process and " + figure(scale, "thread at " + common, "charged_kib_per_conn", "KiB")
                + " for a thread (" + common + " held);";
        String cpu = "CPU per session: " + figure(models, "process", "cpu_ms_per_session", "ms") + " for a worker JVM, "
                + figure(models, "process-native", "cpu_ms_per_session", "ms") + " for a native process, "
                + figure(models, "thread", "cpu_ms_per_session", "ms") + " for a thread.";
        String intro = "What it costs, as `bin/bench` measured it on " + header.group(1) + " (" + header.group(2) + " UTC, "
                + header.group(3) + " shared cores; the [report](docs/bench/report.md) has the machine, the load, every"
                + " model and the article's own servers beside Java's):";
        return wrap(intro, "") + "\n" + wrap("- " + firstEcho, "  ") + wrap("- " + memory, "  ") + wrap("- " + cpu, "  ");
    }

    /** A CSV file's rows keyed by model (and " at N" for the ladder's rungs). */
    private static Map<String, Map<String, String>> rows(Path file, boolean rungs) {
        Map<String, Map<String, String>> byKey = new LinkedHashMap<>();
        for (Map<String, String> row : Csv.read(file).rows()) {
            byKey.put(rungs ? row.get("model") + " at " + row.get("held") : row.get("model"), row);
        }
        return byKey;
    }

    /** The highest rung at or below {@code atMost} where {@code model} was measured. */
    private static int highest(Map<String, Map<String, String>> scale, String model, int atMost) {
        int best = -1;
        for (Map<String, String> row : scale.values()) {
            if (row.get("model").equals(model) && "ok".equals(row.get("status"))) {
                int held = Integer.parseInt(row.get("held"));
                if (held <= atMost && held > best) {
                    best = held;
                }
            }
        }
        if (best < 0) {
            throw new IllegalArgumentException("scale.csv: " + model + " measured at no rung");
        }
        return best;
    }

    /** The highest rung where both models were measured. */
    private static int highestBoth(Map<String, Map<String, String>> scale, String a, String b) {
        int rung = highest(scale, a, Integer.MAX_VALUE);
        while (rung != highest(scale, b, rung)) {
            rung = highest(scale, a, highest(scale, b, rung));
        }
        return rung;
    }

    private static String figure(Map<String, Map<String, String>> rows, String key, String column, String unit) {
        Map<String, String> row = rows.get(key);
        String value = row == null ? null : row.get(column);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("no " + column + " for " + key);
        }
        return "**" + Report.number(Double.parseDouble(value)) + " " + unit + "**";
    }

    /** {@code text} in lines of at most 100 characters, the lines after the first indented by {@code indent}. */
    private static String wrap(String text, String indent) {
        StringBuilder out = new StringBuilder();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (!line.isEmpty() && line.length() + 1 + word.length() > 100) {
                out.append(line).append('\n');
                line.setLength(0);
                line.append(indent);
            }
            if (!line.isEmpty() && !line.toString().equals(indent)) {
                line.append(' ');
            }
            line.append(word);
        }
        return out.append(line).append('\n').toString();
    }
}
