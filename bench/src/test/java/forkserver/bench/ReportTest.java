package forkserver.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportTest {

    private static final Figures PROCESS = new Figures("process", null, new Stats.Median(200, 70, 66, 74), 90, 1200,
            20_000, 40_000, 50, 0.2, 10, 110, 112, 110, 80);
    private static final Figures THREAD = new Figures("thread", null, new Stats.Median(200, 0.5, 0.45, 0.55), 1, 20,
            100, 100, 2, 0.05, 2500, 0.25, 0.26, 5, 3);
    private static final Figures VIRTUAL = new Figures("virtual", null, new Stats.Median(20, 0.2, 0.1, 0.3), 0.5, 10,
            -102, 3, 105, 0.1, 9000, 0.1, 0.1, 2, 2);
    private static final Figures BROKEN = Figures.failed("eventloop", "session 3: sent 'hello', got back end of stream");

    @Test
    void theRatiosLineComparesAProcessWithAThread() {
        assertEquals("Measured ratios: a process (a JVM each) costs 200× the memory, 140× the first-echo latency"
                + " and 440× the CPU per connection of a thread.", Report.ratios(List.of(PROCESS, THREAD)));
    }

    @Test
    void aFailingModelIsAFailedRowAndInNoRatio() {
        String table = Report.table(List.of(PROCESS, THREAD, BROKEN), Workload.QUICK);
        assertTrue(table.contains("| eventloop | FAILED: session 3: sent 'hello', got back end of stream |"), table);
        assertTrue(table.contains("| process | 70.0 [66.0–74.0] (200) | 90.0 | 1200 | 20000 | 40000 | 0.200 | 10.0 | 110 | 110+80.0 |"),
                table);
        assertTrue(table.contains("| first echo p99 ms |"), "200 sessions each: a p99 " + table);
        assertEquals(Report.ratios(List.of(PROCESS, THREAD)), Report.ratios(List.of(PROCESS, THREAD, BROKEN)));
        assertTrue(Report.ratios(List.of(PROCESS, BROKEN)).startsWith("No ratios"));
    }

    @Test
    void theCsvHasEveryFigureUnrounded() {
        List<String> lines = Report.csv(List.of(THREAD, BROKEN)).lines().toList();
        assertEquals(3, lines.size());
        assertEquals("thread,ok,0.5000,1.0000,20.0000,100.0000,100.0000,0.0500,2500.0000,0.2500,0.2600,5.0000,3.0000,"
                + "200.0000,0.4500,0.5500,2.0000", lines.get(1));
        assertEquals("eventloop,failed,,,,,,,,,,,,0.0000,,,", lines.get(2));
    }

    @Test
    void memoryWithinTheResolutionSaysSoAndIsInNoRatio() {
        String table = Report.table(List.of(THREAD, VIRTUAL), Workload.QUICK);
        assertTrue(table.contains("| virtual | 0.200 [0.100–0.300] (20) | 0.500 | 10.0 | < 105 | < 105 |"), table);
        assertTrue(table.contains("| first echo max ms |"), "20 sessions: the maximum, called so " + table);
        assertTrue(Report.ratios(List.of(THREAD, VIRTUAL)).contains("costs (too small to compare) the memory"),
                Report.ratios(List.of(THREAD, VIRTUAL)));
    }

    @Test
    void numbersKeepAboutThreeFigures() {
        assertEquals("152", Report.number(152.4));
        assertEquals("15.2", Report.number(15.24));
        assertEquals("1.52", Report.number(1.524));
        assertEquals("0.152", Report.number(0.1524));
        assertEquals("n/a", Report.number(Double.NaN));
    }

    @Test
    void theOutsideCheckPutsBothMeasurementsSideBySide() {
        assertEquals("Outside check, CPU ms per session from /proc vs /usr/bin/time -v (sustained server minus an idle one):"
                + " process 110 vs 112, thread 0.250 vs 0.260.", Report.outsideCheck(List.of(PROCESS, THREAD, BROKEN)));
    }
}
