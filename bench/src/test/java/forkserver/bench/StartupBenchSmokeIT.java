package forkserver.bench;

import forkserver.testkit.Command;
import forkserver.testkit.Project;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bin/bench-startup, bin/bench-spares, bin/bench-metrics and bin/bench-handlers with a tiny workload: every series and figure is there and plausible. */
class StartupBenchSmokeIT {

    private static final Pattern SERIES = Pattern.compile("^\\| (\\d)\\. .* \\| (\\d+\\.\\d) \\| (\\d+\\.\\d) \\|$");
    private static final Pattern MEMORY = Pattern.compile("^\\| (\\d+) \\| (\\d+\\.\\d) MiB \\| (\\d+\\.\\d) MiB \\| (\\d+\\.\\d) MiB \\|$");

    @Test
    void aTinyRunReportsTheThreeSeriesTheRatiosAndMemory() {
        Command.Result result = Command.run(List.of(Project.bin("bench-startup"), "3", "2", "3"), "", Duration.ofMinutes(5));
        assertFalse(result.killedByWatchdog());
        assertEquals(0, result.exitValue(), result.stdout() + result.stderr());
        List<String> lines = result.stdout().lines().toList();

        List<Matcher> series = lines.stream().map(SERIES::matcher).filter(Matcher::matches).toList();
        assertEquals(3, series.size(), result.stdout());
        for (Matcher m : series) {
            double p50 = Double.parseDouble(m.group(2));
            assertTrue(p50 > 0 && p50 <= Double.parseDouble(m.group(3)), m.group());
        }
        assertTrue(result.stdout().contains("Ratios of medians: (1)/(3) = **"), result.stdout());

        List<Matcher> memory = lines.stream().map(MEMORY::matcher).filter(Matcher::matches).toList();
        assertEquals(List.of("2", "3"), memory.stream().map(m -> m.group(1)).toList(), result.stdout());
        for (Matcher m : memory) {
            double pss = Double.parseDouble(m.group(2));
            // A JVM worker's own pages: more than a native program's, less than a whole JVM's RSS.
            assertTrue(pss > 1 && pss < Double.parseDouble(m.group(3)), m.group());
        }
        assertTrue(result.stdout().contains("-XX:AOTCache="), "the worker ran with its AOT cache");
    }

    @Test
    void bin_bench_sparesReportsEverySeriesAgainstTheNativeEchoProgram() {
        Command.Result result = Command.run(List.of(Project.bin("bench-spares"), "3", "2"), "", Duration.ofMinutes(5));
        assertFalse(result.killedByWatchdog());
        assertEquals(0, result.exitValue(), result.stdout() + result.stderr());
        List<Matcher> series = result.stdout().lines().map(SERIES::matcher).filter(Matcher::matches).toList();
        assertEquals(List.of("1", "2", "3", "4", "5"), series.stream().map(m -> m.group(1)).toList(), result.stdout());
        for (Matcher m : series) {
            double p50 = Double.parseDouble(m.group(2));
            assertTrue(p50 > 0 && p50 <= Double.parseDouble(m.group(3)), m.group());
        }
        // The fork+exec baselines run the bench's C echo program, as the bench's tcpserver model does.
        assertTrue(series.get(3).group().contains("-- bench-echo`"), series.get(3).group());
        assertTrue(series.get(4).group().contains("`tcpserver 127.0.0.1 PORT bench-echo`"), series.get(4).group());
        assertTrue(result.stdout().contains("Ratios of medians: (1)/(5) = **"), result.stdout());
        assertTrue(result.stdout().contains("The same bursts against (5), in the same rounds"), result.stdout());
        assertTrue(result.stdout().contains("Idle spare: PSS "), result.stdout());
    }

    private static final Pattern HANDLERS_ROW = Pattern.compile(
            "^\\| (\\d)\\. .* \\| (\\d+\\.\\d) \\| (\\d+\\.\\d) \\| (\\d+\\.\\d)? \\| (\\d+\\.\\d)? \\|$");

    @Test
    void bin_bench_handlersReportsEverySeriesTheTargetAndTheTlsBreakdown(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path report = dir.resolve("handlers.md");
        Command.Result result = Command.run(List.of(Project.bin("bench-handlers"), "--report", report.toString(), "--warm-up", "1", "1"), "",
                Duration.ofMinutes(5));
        assertFalse(result.killedByWatchdog());
        assertEquals(0, result.exitValue(), result.stdout() + result.stderr());
        List<Matcher> rows = result.stdout().lines().map(HANDLERS_ROW::matcher).filter(Matcher::matches).toList();
        // 1-7 always; 8 and 9 with tcpserver (ucspi-tcp), 9 with stunnel (stunnel4) too.
        assertEquals(List.of("1", "2", "3", "4", "5", "6", "7"), rows.stream().limit(7).map(m -> m.group(1)).toList(),
                result.stdout());
        for (Matcher row : rows) {
            boolean tls = row.group().contains("TLS") || row.group().contains("HTTPS") || row.group().contains("stunnel");
            assertTrue(Double.parseDouble(row.group(2)) > 0, row.group());
            assertEquals(tls, row.group(4) != null, "a handshake figure exactly on the TLS rows: " + row.group());
            if (tls) { // the handshake and what follows it add up to the first response
                assertTrue(Double.parseDouble(row.group(4)) < Double.parseDouble(row.group(2)), row.group());
            }
        }
        assertTrue(result.stdout().contains("Ratios of medians: (2)/(1) = **"), result.stdout());
        assertTrue(result.stdout().contains("TLS with spares: (5) − (2) = "), result.stdout());
        assertTrue(result.stdout().contains("TLS handshake, breakdown (medians, ms; "), result.stdout());
        for (String row : List.of("| | (5) spare | (7) warm JVM | (9) stunnel |", "| round trips: 2 × loopback RTT |",
                "| supervisor's CPU (accept, hand-off) |", "| rest (not accounted for) |")) {
            assertTrue(result.stdout().contains(row), row + " in\n" + result.stdout());
        }
        assertTrue(result.stdout().contains("Command: `bin/bench-handlers --warm-up 1 1`"), result.stdout());
        assertTrue(result.stdout().contains("1 rounds after 1 of warm-up;"), result.stdout());
        assertEquals(result.stdout(), java.nio.file.Files.readString(report), "the report file holds what stdout showed");
    }

    private static final Pattern METRICS_ROW = Pattern.compile("^\\| (.+) \\| (\\d+\\.\\d+) \\| (\\d+\\.\\d+) \\| (\\d+\\.\\d+) \\|$");

    @Test
    void bin_bench_metricsReportsBothSeriesAndTheRatios() {
        Command.Result result = Command.run(List.of(Project.bin("bench-metrics"), "2", "10"), "", Duration.ofMinutes(5));
        assertFalse(result.killedByWatchdog());
        assertEquals(0, result.exitValue(), result.stdout() + result.stderr());
        List<Matcher> rows = result.stdout().lines().map(METRICS_ROW::matcher).filter(Matcher::matches).toList();
        assertEquals(2, rows.size(), result.stdout());
        assertTrue(rows.get(1).group(1).contains("--metrics"), rows.get(1).group());
        for (Matcher row : rows) {
            assertTrue(Double.parseDouble(row.group(2)) > 0 && Double.parseDouble(row.group(4)) > 0, row.group());
        }
        assertTrue(result.stdout().contains("Ratios (with / without): first echo p50 "), result.stdout());
        assertTrue(result.stdout().contains("load average before: "), result.stdout());
    }
}
