package forkserver.bench;

import forkserver.bench.Scale.Point;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScaleReportTest {

    private static final Stats.Median TRIP = new Stats.Median(200, 0.05, 0.04, 0.06);
    private static final Stats.Median SLOW_TRIP = new Stats.Median(200, 0.09, 0.08, 0.10);

    private static Point point(String model, int held, double charged, double low, double high, double resolution,
                               Stats.Median trip) {
        return new Point(Models.named(model), held, null, new Stats.Median(3, charged / 2, low / 2, high / 2),
                new Stats.Median(3, charged, low, high), 0.1, resolution, held, 1, trip, 0.5);
    }

    /** The article's figures at 1000 held: its thread server 45 KiB charged, its callback server about 2. */
    private static final Scale.Figures ARTICLE = new Scale.Figures(List.of(
            point("seed-thread", 1000, 45, 44, 46, 0.5, TRIP),
            point("seed-fork", 1000, 300, 290, 310, 0.5, SLOW_TRIP),
            point("seed-callback", 1000, 2, 1.8, 2.2, 0.5, TRIP),
            point("seed-asyncio", 1000, 0.3, 0.2, 0.4, 0.5, TRIP),
            Point.not(Models.named("process"), 1000, "would take about 10.0 GiB")), List.of(1000), 3, null);

    @Test
    void aRatioOnlyWhereTheDenominatorIsClearOfTheNoise() {
        assertEquals("The article's thread server is charged 45.0 [44.0–46.0] KiB a held connection at 1000 held, its callback"
                        + " server 2.00 [1.80–2.20] KiB: 23×, as the claim says.",
                Report.memoryClaim(ARTICLE, "seed-thread", "seed-callback", "The article's thread server", "its callback server"));
        String asyncio = Report.memoryClaim(ARTICLE, "seed-thread", "seed-asyncio", "Its thread server", "its asyncio server");
        assertTrue(asyncio.endsWith("its asyncio server < 0.500 KiB: the second is not clear of its noise (0.500 KiB), so no"
                + " ratio; the first is at least 90× of it, as the claim says."), asyncio);
        assertTrue(Report.memoryClaim(ARTICLE, "seed-fork", "process", "a", "b").endsWith("not both measured."));
    }

    @Test
    void theLadderTablesShowRangesNoiseAndWhatWasNotMeasured() {
        List<Model> models = ARTICLE.points().stream().map(Point::model).toList();
        String report = Report.scale(ARTICLE, models);
        assertTrue(report.contains("| seed-thread | 45.0 [44.0–46.0] |"), report);
        assertTrue(report.contains("| seed-asyncio | < 0.500 |"), report);
        assertTrue(report.contains("| process | — |"), report);
        assertTrue(report.contains("- process at 1000: would take about 10.0 GiB"), report);
        assertTrue(report.contains("| seed-fork | 1000 / 1 |"), "threads / processes: " + report);
    }

    @Test
    void theServersOwnProcessIsShownIdleAndWithTheSessionsHeld() {
        Point supervisor = new Point(Models.named("process-native"), 1000, null, TRIP, TRIP, 0.1, 0.5, 2018, 1001, TRIP, 0.5,
                new Scale.Own(60 * 1024, 40 * 1024, 14), new Scale.Own(95.5 * 1024, 76.25 * 1024, 1014));
        Scale.Figures figures = new Scale.Figures(List.of(supervisor), List.of(1000), 3, null);
        String report = Report.scale(figures, List.of(supervisor.model()));
        assertTrue(report.contains("| process-native | 60.0 / 40.0, 14 → 95.5 / 76.3, 1014 |"), report);
        assertTrue(Report.scaleCsv(figures).contains(",61440.0000,40960.0000,14.0000,97792.0000,78080.0000,1014.0000,"), Report.scaleCsv(figures));
    }

    @Test
    void theConclusionsAnswerEachClaim() {
        String conclusions = Report.conclusions(List.of(), ARTICLE);
        assertTrue(conclusions.contains("**\"Processes cost more memory\"**"), conclusions);
        assertTrue(conclusions.contains("The article's fork server is charged 300 [290–310] KiB a held connection at 1000 held,"
                + " its thread server 45.0 [44.0–46.0] KiB: 6.7×, as the claim says."), conclusions);
        assertTrue(conclusions.contains("a line's round trip is 0.090 ms on the fork server and 0.050 ms on the thread server"
                + " (1.8×, their 95% intervals apart, as the claim says)."), conclusions);
        assertTrue(conclusions.contains("**\"Threads cost more than callbacks and coroutines, at scale.\"**"), conclusions);
    }

    @Test
    void aRungIsSkippedWithItsReasonFromTheRungBelow() {
        Scale scale = new Scale(List.of(), null, Scale.LADDER, 3, new Scale.Budget(4L << 20, 30, 20_000), null, null);
        Point jvm = new Point(Models.named("process"), 100, null, new Stats.Median(3, 10_000, 9_000, 11_000),
                new Stats.Median(3, 11_000, 10_000, 12_000), 1, 5, 1400, 101, TRIP, 150);
        assertEquals("would take about 10.5 GiB (11000 KiB a connection at 100 held), over a third of the 12.0"
                + " GiB this machine had available", scale.fits(jvm.model(), jvm, 1000));
        Point fork = point("seed-fork", 1000, 300, 290, 310, 0.5, TRIP);
        assertNull(scale.fits(fork.model(), fork, 10_000), "3 GiB, 5 s and 10,000 tasks fit");
        Point slow = new Point(Models.named("process-native"), 1000, null, fork.pss(), fork.charged(), 0.1, 0.5, 2000, 1001,
                TRIP, 5);
        assertEquals("opening them would take about 50 s a round (5.00 ms a connection at 1000 held), 2.5 min for its 3"
                + " rounds on this machine, over the 30 s a round the bench gives a rung",
                scale.fits(slow.model(), slow, 10_000));
        Point tasks = new Point(Models.named("process-native"), 1000, null, fork.pss(), fork.charged(), 0.1, 0.5, 3000, 1001,
                TRIP, 0.5);
        assertEquals("would need about 30000 tasks (the server tree's threads: 3.00 a connection at 1000 held), over the"
                + " 20000 the kernel's pid_max leaves free",
                scale.fits(tasks.model(), tasks, 10_000));
        // The supervisor's reaper thread and the child's one thread a connection: 20,140 tasks, its processes among them
        // (not 30,150: a process is a task through its first thread, counted once), and 70 s a round.
        Scale full = new Scale(List.of(), null, Scale.LADDER, 3, new Scale.Budget(12L << 20, 120, 25_000), null, null);
        Point supervisor = new Point(Models.named("process-native"), 1000, null, fork.pss(), fork.charged(), 0.1, 0.5, 2014,
                1001, TRIP, 7);
        assertNull(full.fits(supervisor.model(), supervisor, 10_000));
        // Two descriptors a child in the supervisor: 10,000 held need about 20,030, over a hard limit of 20,000.
        Scale limited = new Scale(List.of(), null, Scale.LADDER, 3, new Scale.Budget(12L << 20, 120, 25_000, 20_000), null, null);
        Point open = new Point(Models.named("process-native"), 1000, null, fork.pss(), fork.charged(), 0.1, 0.5, 2014, 1001,
                TRIP, 7, new Scale.Own(60 * 1024, 40 * 1024, 14, 30), new Scale.Own(95 * 1024, 76 * 1024, 1014, 2030));
        assertEquals("would need about 20030 descriptors in the server's own process (2.00 a connection at 1000 held), over"
                + " its limit of 20000 (the hard limit of open files here)", limited.fits(open.model(), open, 10_000));
        assertNull(limited.fits(open.model(), open, 9_000));
        assertNull(scale.fits(Models.named("thread"), null, 10));
        assertEquals("opening them would take about 4.2 min a round (a JVM start each, roughly), 12.5 min for its 3"
                + " rounds on this machine, over the 30 s a round the bench gives a rung",
                scale.fits(Models.named("process"), null, 1000));
    }
}
