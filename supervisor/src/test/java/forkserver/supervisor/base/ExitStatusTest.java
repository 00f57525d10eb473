package forkserver.supervisor.base;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ExitStatusTest {

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
