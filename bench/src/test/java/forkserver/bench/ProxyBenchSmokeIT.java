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

/** bin/bench-proxy with a tiny workload (needs HAProxy): four series, four differences, the load average, nothing left running. */
class ProxyBenchSmokeIT {

    private static final Pattern SERIES = Pattern.compile("^\\| (\\d)\\. .* \\| (\\d+\\.\\d+) \\| (\\d+\\.\\d+) \\| (\\d+\\.\\d+) \\|$");
    private static final Pattern DELTA = Pattern.compile("^\\| .*\\(\\d\\) − \\(\\d\\).* \\| [+-]\\d+\\.\\d+ \\| [+-]\\d+\\.\\d+ \\|$");

    @Test
    void aTinyRunReportsEverySeriesAndWhatEachAdds() {
        Command.Result result = Command.run(List.of(Project.bin("bench-proxy"), "3"), "", Duration.ofMinutes(5));
        assertFalse(result.killedByWatchdog());
        assertEquals(0, result.exitValue(), result.stdout() + result.stderr());
        List<String> lines = result.stdout().lines().toList();
        List<Matcher> series = lines.stream().map(SERIES::matcher).filter(Matcher::matches).toList();
        assertEquals(List.of("1", "2", "3", "4"), series.stream().map(m -> m.group(1)).toList(), result.stdout());
        for (Matcher m : series) {
            double p50 = Double.parseDouble(m.group(2));
            assertTrue(p50 > 0 && p50 <= Double.parseDouble(m.group(4)), m.group());
        }
        assertEquals(4, lines.stream().filter(line -> DELTA.matcher(line).matches()).count(), result.stdout());
        assertTrue(result.stdout().contains("Load average (1, 5, 15 min): "), result.stdout());
        assertTrue(ProcessHandle.allProcesses().noneMatch(p -> p.info().commandLine().orElse("")
                .contains("forkserver-proxy-bench")), "HAProxy stopped with the bench");
    }
}
