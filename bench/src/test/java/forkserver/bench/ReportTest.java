package forkserver.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportTest {

    private static final Figures PROCESS = new Figures(Models.named("process"), null, new Stats.Median(200, 70, 66, 74), 90,
            1200, 0.2, 10, 110, 112, 110, 80);
    private static final Figures SPARES = new Figures(Models.named("spares"), null, new Stats.Median(200, 4, 3.5, 4.5), 10,
            1200, 0.2, 10, 150, 160, 120, 90);
    private static final Figures THREAD = new Figures(Models.named("thread"), null, new Stats.Median(200, 0.5, 0.45, 0.55), 1,
            20, 0.05, 2500, 0.25, 0.26, 5, 3);
    private static final Figures BROKEN = Figures.failed(Models.named("eventloop"), "session 3: sent 'hello', got back end of stream");

    @Test
    void theRatiosLineComparesAProcessWithAThread() {
        assertEquals("Measured ratios: a process (a JVM each) costs 140× the first-echo latency and 440× the CPU per"
                + " session of a platform thread.", Report.ratios(List.of(PROCESS, THREAD)));
    }

    @Test
    void aFailingModelIsAFailedRowAndInNoRatio() {
        String table = Report.table(List.of(PROCESS, THREAD, BROKEN), Workload.QUICK);
        assertTrue(table.contains("| eventloop | FAILED: session 3: sent 'hello', got back end of stream |"), table);
        assertTrue(table.contains("| process | 70.0 [66.0–74.0] (200) | 90.0 | 1200 | 0.200 | 10.0 | 110 | 110+80.0 |"), table);
        assertTrue(table.contains("| first echo p99 ms |"), "200 sessions each: a p99 " + table);
        assertEquals(Report.ratios(List.of(PROCESS, THREAD)), Report.ratios(List.of(PROCESS, THREAD, BROKEN)));
        assertTrue(Report.ratios(List.of(PROCESS, BROKEN)).startsWith("No ratios"));
    }

    @Test
    void aRowIsNamedWithItsRegimeAndTheLegendSaysWhereTheSparesWarmUpGoes() {
        String table = Report.table(List.of(SPARES), Workload.QUICK);
        assertTrue(table.contains("| spares (pool full) | 4.00 [3.50–4.50] (200) |"), table);
        String legend = Report.legend(Workload.QUICK);
        for (String column : List.of("**first echo**", "**burst**", "**held round trip**", "**sessions/s**",
                "**CPU ms per session**", "**context switches**")) {
            assertTrue(legend.contains(column), column + " in " + legend);
        }
        assertTrue(legend.contains("its CPU per session includes that spare's JVM start and warm-up"), legend);
    }

    @Test
    void theCsvHasEveryFigureUnroundedAndNamesTheFamily() {
        List<String> lines = Report.csv(List.of(THREAD, SPARES, BROKEN)).lines().toList();
        assertEquals(4, lines.size());
        assertEquals("thread,JAVA_ONE_PROCESS,ok,0.5000,1.0000,20.0000,0.0500,2500.0000,0.2500,0.2600,5.0000,3.0000,"
                + "200.0000,0.4500,0.5500", lines.get(1));
        assertTrue(lines.get(2).startsWith("\"spares (pool full)\",JAVA_PROCESS,ok,"), lines.get(2));
        assertEquals("eventloop,JAVA_ONE_PROCESS,failed,,,,,,,,,,0.0000,,", lines.get(3));
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
