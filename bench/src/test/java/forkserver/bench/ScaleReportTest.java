package forkserver.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

class ScaleReportTest {

    private static final Stats.Median IDLE = new Stats.Median(20, 2.0, 1.5, 2.5);
    private static final Stats.Median HELD = new Stats.Median(20, 2.4, 2.0, 3.0);

    @Test
    void aServerWhosePssShrinksAsItsChildrenShareItsPagesShowsBelowResolutionNotANegativeSize() {
        // tcpserver at 1000 held: its RSS unchanged, its PSS 213 KiB less (its children share its pages).
        Scale.Row tcpserver = new Scale.Row("tcpserver-native", null, new Scale.Own(1000, 700, 1),
                new Scale.Own(1000, 487, 1), new Scale.Own(1000, 690, 1), IDLE, HELD, 1000);
        Scale.Row supervisor = new Scale.Row("process-native", null, new Scale.Own(60_000, 55_000, 15),
                new Scale.Own(100_000, 95_000, 1015), new Scale.Own(76_000, 71_000, 15), IDLE, HELD, 1000);
        String report = new Scale.Figures(List.of(supervisor, tcpserver), 1000, true).report();
        assertTrue(report.contains("| tcpserver-native | 1 → 1 | < 1.00 | < 1.00 | 2.00 [1.50–2.50] | 2.40 [2.00–3.00] | 1.20× | < 1.00 |"),
                report);
        assertTrue(report.contains("| process-native | 15 → 1015 | 40.0 | 40.0 | 2.00 [1.50–2.50] | 2.40 [2.00–3.00] | 1.20× | 15.6 |"),
                report);
        assertTrue(report.contains("once the JDK's idle reaper threads have ended"), report);
    }
}
