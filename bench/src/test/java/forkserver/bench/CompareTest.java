package forkserver.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CompareTest {

    private static final String HEADER = "model,family,held,status,rounds,charged_kib_per_conn,charged_low,charged_high,"
            + "charged_resolution_kib,pss_kib_per_conn,pss_low,pss_high,pss_resolution_kib,round_trip_p50_ms,"
            + "round_trip_low_ms,round_trip_high_ms,not_measured\n";
    private static final String THREAD_1000 = "thread,JAVA_ONE_PROCESS,1000,ok,3,59.3,48.5,103,0.512,35.0,24.3,78.7,0.004,"
            + "0.064,0.060,0.077,\"\"\n";
    private static final String ASYNCIO_100 = "seed-asyncio,SEED,100,ok,3,6.92,4.56,7.24,5.12,0.900,0.800,4.48,0.04,"
            + "0.085,0.082,0.088,\"\"\n";
    private static final String PROCESS_100_NOT = "process,JAVA_PROCESS,100,not measured,0,,,,,,,,,,,,"
            + "\"opening them would take about 25 s a round, roughly\"\n";

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private Path report(String name, String scale, String models) throws IOException {
        Path report = Files.createDirectories(dir.resolve(name));
        Files.writeString(report.resolve("scale.csv"), scale);
        if (models != null) {
            Files.writeString(report.resolve("models.csv"), models);
        }
        return report;
    }

    private int compare(Path a, Path b) {
        return Bench.run(new String[] {"--compare", a.toString(), b.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void twoRunsWhoseMediansLieInTheOthersRangeAgree() throws IOException {
        Path a = report("a", HEADER + THREAD_1000 + ASYNCIO_100, null);
        // B's charge 70 lies in A's [48.5–103] though A's 59.3 is below B's [65–80]; B's PSS "< 0.8" ([−0.8, 0.8]) reaches
        // into A's [0.8–4.48], though A's 0.9 is above it.
        Path b = report("b", HEADER + "thread,JAVA_ONE_PROCESS,1000,ok,3,70,65,80,0.512,36,30,40,0.004,0.065,0.061,0.070,\"\"\n"
                + "seed-asyncio,SEED,100,ok,3,7.00,6.50,7.10,5.12,0.7,0.6,0.9,0.8,0.084,0.080,0.090,\"\"\n", null);
        assertEquals(0, compare(a, b), out());
        assertTrue(out().contains("thread at 1000 held, charged KiB: A 59.3 [48.5–103], B 70.0 [65.0–80.0]: agree (B's within"
                + " A's interval)"), out());
        assertTrue(out().contains("seed-asyncio at 100 held, PSS KiB: A 0.900 [0.800–4.48], B < 0.800: agree (B's within"
                + " A's interval)"), out());
        assertTrue(out().contains("compare: 6 of 6 figures agree (charged KiB 2 of 2, PSS KiB 2 of 2, round trip ms 2 of 2),"
                + " 0 differ, 0 measured in one run only; models.csv not in both, first echo not compared"), out());
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aFigureOutsideTheOthersRangeBothWaysDiffers() throws IOException {
        String models = "model,family,status,first_echo_p50_ms,first_echo_p50_low_ms,first_echo_p50_high_ms\n"
                + "thread,JAVA_ONE_PROCESS,ok,1.99,1.74,2.58\n";
        Path a = report("a", HEADER + THREAD_1000, models);
        Path b = report("b", HEADER + "thread,JAVA_ONE_PROCESS,1000,ok,3,150,140,160,0.512,35.0,24.3,78.7,0.004,0.064,0.060,"
                + "0.077,\"\"\n", models.replace("1.99,1.74,2.58", "3.10,2.90,3.30"));
        assertEquals(1, compare(a, b), out());
        assertTrue(out().contains("thread at 1000 held, charged KiB: A 59.3 [48.5–103], B 150 [140–160]: DIFFER"), out());
        assertTrue(out().contains("thread, first echo ms: A 1.99 [1.74–2.58], B 3.10 [2.90–3.30]: DIFFER"), out());
        assertTrue(out().contains("compare: 2 of 4 figures agree (charged KiB 0 of 1, PSS KiB 1 of 1, round trip ms 1 of 1,"
                + " first echo ms 0 of 1), 2 differ, 0 measured in one run only"), out());
    }

    /** Two runs whose rounds differ only below the printed digits print the same interval: they agree. */
    @Test
    void figuresAreComparedAsPrinted() throws IOException {
        String row = "seed-fork,SEED,1000,ok,3,%s,%s,%s,0.256,627,627,627,0.001,0.103,0.098,0.105,\"\"\n";
        Path a = report("a", HEADER + row.formatted("627.31", "627.29", "627.33"), null);
        Path b = report("b", HEADER + row.formatted("626.92", "626.90", "627.01"), null);
        assertEquals(0, compare(a, b), out());
        assertTrue(out().contains("seed-fork at 1000 held, charged KiB: A 627 [627–627], B 627 [627–627]: agree (each within"
                + " the other's interval)"), out());
    }

    @Test
    void aRungMeasuredInOneRunOnlyIsSaidButNotADifference() throws IOException {
        Path a = report("a", HEADER + PROCESS_100_NOT + THREAD_1000, null);
        Path b = report("b", HEADER + PROCESS_100_NOT.replace("100,not measured,0,,,,,,,,,,,,",
                "100,ok,3,10486,10463,10535,5.12,11135,11120,11163,0.08,0.176,0.170,0.185,") + THREAD_1000, null);
        assertEquals(0, compare(a, b), out());
        assertTrue(out().contains("process at 100 held: measured in B only"), out());
        assertTrue(out().contains("compare: 3 of 3 figures agree"), out());
        assertTrue(out().contains("0 differ, 1 measured in one run only"), out());
    }

    @Test
    void aMalformedOrMissingReportIsOneClearLineAndExitTwo() throws IOException {
        Path good = report("good", HEADER + THREAD_1000, null);
        Path bad = report("bad", HEADER + "thread,JAVA_ONE_PROCESS,1000,ok,3,59.3\n", null);
        assertEquals(2, compare(good, bad));
        assertEquals("bench: --compare: " + bad.resolve("scale.csv") + ": line 2: 6 fields, the header has 17\n",
                err.toString(StandardCharsets.UTF_8));
        err.reset();
        Path notANumber = report("nan", HEADER + THREAD_1000.replace("59.3", "lots"), null);
        assertEquals(2, compare(good, notANumber));
        assertEquals("bench: --compare: " + notANumber.resolve("scale.csv") + ": charged_kib_per_conn is not a number: 'lots'\n",
                err.toString(StandardCharsets.UTF_8));
        err.reset();
        Path oldHeader = report("old", "model,held,status\nthread,1000,ok\n", null);
        assertEquals(2, compare(good, oldHeader));
        assertEquals("bench: --compare: " + oldHeader.resolve("scale.csv") + ": no column 'charged_kib_per_conn' in its header\n",
                err.toString(StandardCharsets.UTF_8));
        err.reset();
        assertEquals(2, compare(good, dir.resolve("nowhere")));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("bench: --compare: cannot read " + dir.resolve("nowhere")
                .resolve("scale.csv")), err.toString(StandardCharsets.UTF_8));
        assertEquals(1, err.toString(StandardCharsets.UTF_8).lines().count());
    }

    @Test
    void compareTakesTwoDirectoriesAndNoOtherOption() {
        assertEquals(2, Bench.run(new String[] {"--compare", "a"}, new PrintStream(out), new PrintStream(err)));
        assertEquals(2, Bench.run(new String[] {"--compare", "a", "b", "--quick"}, new PrintStream(out), new PrintStream(err)));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("bench: --compare needs two report directories"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("bench: --compare runs nothing: it takes no other option"));
    }
}
