package forkserver.bench;

import forkserver.bench.Scale.Point;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CsvTest {

    private static final Stats.Median TRIP = new Stats.Median(200, 0.05, 0.04, 0.06);
    private static final List<Figures> ROWS = List.of(
            new Figures(Models.named("spares"), null, new Stats.Median(200, 4, 3.5, 4.5), 10, 1200, 0.2, 10, 150, 160, 120, 90),
            Figures.failed(Models.named("eventloop"), "session 3: sent 'hello', got back end of stream"));
    private static final Scale.Figures LADDER = new Scale.Figures(List.of(
            new Point(Models.named("process-native"), 1000, null, TRIP, TRIP, 0.1, 0.5, 2018, 1001, TRIP, 0.5,
                    new Scale.Own(60 * 1024, 40 * 1024, 14), new Scale.Own(95 * 1024, 76 * 1024, 1014)),
            Point.not(Models.named("process"), 1000, "would take about 10.0 GiB, \"half\" of it")), List.of(1000), 3, null);

    /** A column added to either file without its meaning in the report's legend fails here. */
    @Test
    void everyColumnOfBothFilesIsNamedInTheReportsLegend() {
        String legend = Report.csvLegend(true);
        for (String csv : List.of(Report.csv(ROWS), Report.scaleCsv(LADDER))) {
            List<String> header = Csv.parse(csv).getFirst();
            for (String column : header) {
                assertTrue(legend.contains("`" + column + "`: "), "no legend for " + column + ": " + legend);
            }
        }
        assertTrue(legend.contains("`charged_resolution_kib`: what the idle server's charge drifted by"), legend);
        assertTrue(Report.csvLegend(false).contains("`cpu_ms_per_session_time_v`: "));
        assertTrue(!Report.csvLegend(false).contains("scale.csv"), "no scale.csv without a ladder");
    }

    @Test
    void everyRowHasTheHeadersFieldsAndReadsBackWithItsQuotes() {
        List<List<String>> models = Csv.parse(Report.csv(ROWS));
        assertEquals(3, models.size());
        assertEquals("spares (pool full)", models.get(1).getFirst());
        List<List<String>> scale = Csv.parse(Report.scaleCsv(LADDER));
        assertEquals(3, scale.size());
        assertEquals("would take about 10.0 GiB, \"half\" of it", scale.get(2).getLast());
        assertEquals("", scale.get(1).getLast(), "measured: no reason");
    }

    @Test
    void aMalformedFileNamesItsLine() {
        assertEquals("line 3: 2 fields, the header has 3",
                assertThrows(IllegalArgumentException.class, () -> Csv.parse("a,b,c\n1,2,3\n1,2\n")).getMessage());
        assertEquals("line 2: a quote is not closed",
                assertThrows(IllegalArgumentException.class, () -> Csv.parse("a,b\n\"x,2\n")).getMessage());
    }
}
