package forkserver.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TimeReportTest {

    /** The lines of a real report that the bench reads, among the ones it does not. */
    private static final String REPORT = """
            Command exited with non-zero status 143
            	Command being timed: "java -cp x forkserver.bench.servers.ThreadPerConnection platform 127.0.0.1 36387"
            	User time (seconds): 0.69
            	System time (seconds): 0.30
            	Percent of CPU this job got: 71%
            	Maximum resident set size (kbytes): 107904
            	Voluntary context switches: 16729
            	Involuntary context switches: 8425
            	Exit status: 143
            """;

    @Test
    void readsCpuTimeAndContextSwitches() {
        TimeReport report = TimeReport.parse(REPORT);
        assertEquals(990, report.cpuMillis(), 1e-6);
        assertEquals(16729, report.voluntarySwitches());
        assertEquals(8425, report.involuntarySwitches());
    }

    @Test
    void theLoadIsTheSustainedServerMinusTheIdleOne() {
        TimeReport idle = new TimeReport(0.25, 0.05, 700, 100);
        TimeReport load = TimeReport.parse(REPORT).minus(idle);
        assertEquals(690, load.cpuMillis(), 1e-6);
        assertEquals(16029, load.voluntarySwitches());
        assertEquals(8325, load.involuntarySwitches());
    }

    @Test
    void aReportWithoutTheFiguresIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> TimeReport.parse("Command terminated by signal 9\n"));
    }
}
