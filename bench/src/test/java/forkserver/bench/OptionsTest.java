package forkserver.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptionsTest {

    @Test
    void quickAndOverrides() {
        Options options = Options.parse(new String[] {"--quick", "--models", "thread, process", "--seconds", "1"});
        assertEquals(List.of("thread", "process"), options.models());
        assertEquals(Workload.QUICK.withSeconds(1), options.workload());
    }

    @Test
    void theFullRunIsTheDefault() {
        Options options = Options.parse(new String[0]);
        assertNull(options.models());
        assertEquals(Workload.FULL, options.workload());
    }

    @Test
    void usageErrorsSayWhatIsWrong() {
        assertEquals("--sessions wants a positive whole number, not '0'", message("--sessions", "0"));
        assertEquals("--out needs a value", message("--out"));
        assertEquals("unknown option '-q' (see --help)", message("-q"));
    }

    @Test
    void theQuickRunIsEstimatedUnderTwoMinutes() {
        double seconds = Models.ALL.stream().mapToDouble(Workload.QUICK::estimateSeconds).sum();
        assertTrue(seconds < 120, "estimate " + seconds + " s");
    }

    private static String message(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> Options.parse(args)).getMessage();
    }
}
