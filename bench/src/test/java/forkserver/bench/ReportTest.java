package forkserver.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportTest {

    private static final Figures PROCESS = new Figures("process", null, 70, 90, 1200, 20_000, 40_000, 0.2, 10, 110, 112, 110, 80);
    private static final Figures THREAD = new Figures("thread", null, 0.5, 1, 20, 100, 100, 0.05, 2500, 0.25, 0.26, 5, 3);
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
        assertTrue(table.contains("| process | 70.0 | 90.0 | 1200 | 20000 | 40000 | 0.200 | 10.0 | 110 | 110+80.0 |"), table);
        assertEquals(Report.ratios(List.of(PROCESS, THREAD)), Report.ratios(List.of(PROCESS, THREAD, BROKEN)));
        assertTrue(Report.ratios(List.of(PROCESS, BROKEN)).startsWith("No ratios"));
    }

    @Test
    void theCsvHasEveryFigureUnrounded() {
        List<String> lines = Report.csv(List.of(THREAD, BROKEN)).lines().toList();
        assertEquals(3, lines.size());
        assertEquals("thread,ok,0.5000,1.0000,20.0000,100.0000,100.0000,0.0500,2500.0000,0.2500,0.2600,5.0000,3.0000",
                lines.get(1));
        assertEquals("eventloop,failed,,,,,,,,,,,", lines.get(2));
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
