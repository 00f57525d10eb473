package forkserver.posix;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The one duration format: the supervisor's options and the worker's variables. */
class DurationsTest {

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
    void secondsAsTheLogWritesThem() {
        assertEquals("1.250", Durations.seconds(Duration.ofMillis(1250)));
        assertEquals("0.005", Durations.seconds(Duration.ofNanos(4_600_000)));
        assertEquals("60.000", Durations.seconds(Duration.ofMinutes(1)));
    }
}
