package forkserver.bench;

import forkserver.testkit.Await;
import forkserver.testkit.Command;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bin/bench end to end with a tiny workload: the table, the ratios, the CSV and the chart. */
class BenchSmokeIT {

    private static final List<String> MODELS = List.of("process", "process-native", "thread", "eventloop", "seed-fork",
            "seed-callback");

    @Test
    void aTinyRunWritesTheReportTheCsvFilesAndTheCharts(@TempDir Path out) throws IOException {
        Command.Result result = Command.run(List.of(Project.bin("bench"), "--models", String.join(",", MODELS),
                "--sessions", "3", "--connections", "2", "--seconds", "1", "--scale", "10,20", "--report", out.toString()),
                "", Duration.ofMinutes(5));
        assertEquals(0, result.exitValue(), "bin/bench failed:\n" + result.stdout() + result.stderr());
        String report = result.stdout();
        String header = report.lines().skip(2).findFirst().orElseThrow();
        for (String fact : List.of("`bin/bench --models ", " UTC; Linux ", " cores, ", "Java 25", "Python 3.", " load average ")) {
            assertTrue(header.contains(fact), fact + " in the header: " + header);
        }
        List<String> table = report.lines().dropWhile(l -> !l.startsWith("| model |"))
                .takeWhile(l -> l.startsWith("|")).toList();
        assertEquals(2 + MODELS.size(), table.size(), report); // header, rule and one row a model
        for (int i = 0; i < MODELS.size(); i++) {
            String row = table.get(i + 2);
            assertTrue(row.startsWith("| " + MODELS.get(i) + " | "), row);
            assertFalse(row.contains("FAILED") || row.contains("n/a"), row);
            assertTrue(row.matches("\\| \\S+ \\| [0-9.]+ \\[[0-9.]+–[0-9.]+] \\(3\\) \\| .*"), "p50, its interval and N: " + row);
        }
        List<String> charged = report.lines().dropWhile(l -> !l.startsWith("| charged KiB per held connection | 10 | 20 |"))
                .takeWhile(l -> l.startsWith("|")).toList();
        assertEquals(2 + MODELS.size(), charged.size(), report);
        assertTrue(charged.get(2).matches("\\| process \\| [0-9.]+ \\[[0-9.]+–[0-9.]+] \\| [0-9.]+ \\[[0-9.]+–[0-9.]+] \\|"),
                "a JVM per connection is charged megabytes, far above the noise: " + charged.get(2));
        assertTrue(report.contains("| threads / processes with N held | 10 | 20 |"), report);
        assertTrue(report.contains("| seed-fork | 11 / 11 | 21 / 21 |"), "a process each, one thread each: " + report);
        assertTrue(report.contains("Measured ratios: a process (a JVM each) costs "), report);
        assertTrue(report.contains("Outside check, CPU ms per session from /proc vs /usr/bin/time -v"), report);
        assertTrue(report.contains("**\"Processes cost more memory\"**"), report);
        assertEquals(report, Files.readString(out.resolve("report.md")), "report.md is the report as printed");

        List<String> csv = Files.readAllLines(out.resolve("models.csv"));
        assertEquals(1 + MODELS.size(), csv.size());
        for (String line : csv.subList(1, csv.size())) {
            String[] cells = line.split(",", -1);
            assertEquals(15, cells.length, line);
            assertEquals("ok", cells[2], line);
            for (int i = 3; i < cells.length; i++) {
                assertTrue(Double.parseDouble(cells[i]) > 0, "column " + csv.getFirst().split(",")[i] + " of " + line);
            }
        }
        double processFirstEcho = Double.parseDouble(csv.get(1).split(",")[3]);
        double threadFirstEcho = Double.parseDouble(csv.get(3).split(",")[3]);
        assertTrue(processFirstEcho > threadFirstEcho, "starting a JVM is slower than starting a thread: " + csv);
        List<String> scale = Files.readAllLines(out.resolve("scale.csv"));
        assertEquals(1 + 2 * MODELS.size(), scale.size(), "a line a model a rung: " + scale);

        for (String png : List.of("models.png", "scale.png")) {
            BufferedImage chart = ImageIO.read(out.resolve(png).toFile());
            assertTrue(chart.getWidth() >= 640 && chart.getHeight() >= 400, png + ": a chart, not an empty file");
        }
        assertFalse(Files.exists(out.resolve("reference.png")), "no reference server ran: no chart of them");
        assertFalse(report.contains("## Reference servers"), report);
        try (var cgroups = Files.list(Path.of("/sys/fs/cgroup/memory"))) {
            assertEquals(List.of(), cgroups.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("forkserver-bench-")).toList(),
                    "every cgroup the bench made is removed");
        } catch (java.nio.file.NoSuchFileException e) {
            // no v1 memory hierarchy here
        }
    }

    @Test
    void interruptedItLeavesNoServerBehind(@TempDir Path out) {
        try (ServerProcess bench = ServerProcess.start(List.of(Project.bin("bench"), "--models", "process",
                "--sessions", "200", "--report", out.toString()), Map.of())) {
            // The supervisor, and a worker of the sequential sessions now and then.
            Await.until("bin/bench to start a supervisor and a worker", () -> bench.descendants().size() >= 2);
            List<ProcessHandle> servers = bench.descendants();
            bench.signal("INT");
            bench.awaitExit(Duration.ofSeconds(60));
            Await.until("every server process to end: " + servers, Duration.ofSeconds(60),
                    () -> servers.stream().noneMatch(ProcessHandle::isAlive));
        }
    }

    @Test
    void aUsageErrorIsOneLineAndStatusTwo() {
        Command.Result result = Command.run(List.of(Project.bin("bench"), "--models", "threads"), "", Duration.ofMinutes(2));
        assertEquals(2, result.exitValue());
        assertEquals(List.of("bench: unknown model 'threads' (known: process, spares, process-native, thread, virtual, eventloop,"
                + " seed-thread, seed-fork, seed-callback, seed-asyncio, tcpserver-native, tcpserver-worker, systemd-native,"
                + " systemd-worker, process-unboxed, process-native-unboxed)"), result.stderrLines());
        assertEquals("", result.stdout());
    }
}
