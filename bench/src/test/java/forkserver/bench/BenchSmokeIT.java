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

    private static final List<String> MODELS = List.of("process", "process-native", "thread", "eventloop");

    @Test
    void aTinyRunPrintsTheTableAndWritesTheCsvAndTheChart(@TempDir Path out) throws IOException {
        Command.Result result = Command.run(List.of(Project.bin("bench"), "--models", String.join(",", MODELS),
                "--sessions", "3", "--connections", "2", "--seconds", "1", "--scale", "20", "--out", out.toString()),
                "", Duration.ofMinutes(5));
        assertEquals(0, result.exitValue(), "bin/bench failed:\n" + result.stdout() + result.stderr());

        assertTrue(result.stdout().lines().findFirst().orElseThrow().contains(" load average "), result.stdout());
        List<String> table = result.stdout().lines().takeWhile(l -> !l.startsWith("Measured ratios"))
                .filter(l -> l.startsWith("| ")).toList();
        assertEquals(1 + MODELS.size(), table.size(), result.stdout()); // header and one row a model
        for (int i = 0; i < MODELS.size(); i++) {
            String row = table.get(i + 1);
            assertTrue(row.startsWith("| " + MODELS.get(i) + " | "), row);
            assertFalse(row.contains("FAILED") || row.contains("n/a"), row);
            assertTrue(row.matches("\\| \\S+ \\| [0-9.]+ \\[[0-9.]+–[0-9.]+] \\(3\\) \\| .*"), "p50, its interval and N: " + row);
        }
        List<String> scale = result.stdout().lines().dropWhile(l -> !l.startsWith("Scale: 20 native sessions"))
                .filter(l -> l.startsWith("| process-native |")).toList();
        assertEquals(1, scale.size(), "the scale figure for the supervisor: " + result.stdout());
        assertTrue(scale.getFirst().matches("\\| process-native \\| \\d+ → \\d+ \\| .*"), scale.getFirst());
        assertTrue(result.stdout().contains("Measured ratios: a process (a JVM each) costs "), result.stdout());
        assertTrue(result.stdout().contains("Outside check, CPU ms per session from /proc vs /usr/bin/time -v"),
                result.stdout());
        assertEquals(result.stdout(), Files.readString(out.resolve("bench.md")), "bench.md is the table as printed");

        List<String> csv = Files.readAllLines(out.resolve("bench.csv"));
        assertEquals(1 + MODELS.size(), csv.size());
        for (String line : csv.subList(1, csv.size())) {
            String[] cells = line.split(",", -1);
            assertEquals(17, cells.length, line);
            assertEquals("ok", cells[1], line);
            for (int i = 2; i < cells.length; i++) {
                if (i != 5 && i != 6) { // memory growth may be (near) zero for an event loop
                    assertTrue(Double.parseDouble(cells[i]) > 0, "column " + csv.getFirst().split(",")[i] + " of " + line);
                }
            }
        }
        double processFirstEcho = Double.parseDouble(csv.get(1).split(",")[2]);
        double threadFirstEcho = Double.parseDouble(csv.get(3).split(",")[2]);
        assertTrue(processFirstEcho > threadFirstEcho, "starting a JVM is slower than starting a thread: " + csv);

        BufferedImage chart = ImageIO.read(out.resolve("bench.png").toFile());
        assertTrue(chart.getWidth() >= 640 && chart.getHeight() >= 400, "a chart, not an empty file");
    }

    @Test
    void interruptedItLeavesNoServerBehind(@TempDir Path out) {
        try (ServerProcess bench = ServerProcess.start(List.of(Project.bin("bench"), "--models", "process",
                "--sessions", "200", "--out", out.toString()), Map.of())) {
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
                + " tcpserver-native, tcpserver-worker, systemd-native, systemd-worker)"), result.stderrLines());
        assertEquals("", result.stdout());
    }
}
