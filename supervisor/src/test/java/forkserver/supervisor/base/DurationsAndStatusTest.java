package forkserver.supervisor.base;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DurationsAndStatusTest {

    @Test
    void durationsAsOperatorsWriteThem() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(10), Durations.parse("10s"));
        assertEquals(Duration.ofSeconds(7), Durations.parse("7"));
        assertEquals(Duration.ofMinutes(2), Durations.parse("2m"));
        assertEquals(Duration.ofHours(1), Durations.parse("1h"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("-1s"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("1.5s"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("soon"));
    }

    @Test
    void durationsAreBoundedToAYearWhateverTheirDigits() {
        assertEquals(Duration.ofHours(8760), Durations.parse("8760h"));
        assertEquals(Durations.MAX, Durations.parse(Durations.MAX.toMillis() + "ms"));
        for (String tooLong : new String[] {"8761h", "99999999999999h", "999999999999999999999s", "525601m"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(tooLong));
            assertEquals("'" + tooLong + "' is too long: at most 8760h (a year)", e.getMessage());
        }
    }

    @Test
    void exitValuesAboveOneHundredTwentyEightAreSignals() {
        assertEquals("status=0", ExitStatus.describe(0));
        assertEquals("status=2", ExitStatus.describe(2));
        assertEquals("status=128", ExitStatus.describe(128));
        assertEquals("signal=KILL", ExitStatus.describe(137));
        assertEquals("signal=TERM", ExitStatus.describe(143));
        assertEquals("signal=40", ExitStatus.describe(168));
        assertEquals("status=255", ExitStatus.describe(255));
    }
}
