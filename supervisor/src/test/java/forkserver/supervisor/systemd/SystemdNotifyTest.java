package forkserver.supervisor.systemd;

import forkserver.supervisor.log.EventLog;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sd_notify(3)'s variables as systemd sets them, and sd_watchdog_enabled(3)'s rule for WATCHDOG_PID. */
class SystemdNotifyTest {

    private static final EventLog LOG = new EventLog(new PrintStream(new ByteArrayOutputStream(), true,
            StandardCharsets.UTF_8), EventLog.Format.TEXT);

    @Test
    void withoutNotifySocketNothingIsSent() {
        SystemdNotify notify = SystemdNotify.of(Map.of("WATCHDOG_USEC", "1000000"), 42, LOG);
        assertFalse(notify.enabled());
        assertNull(notify.watchdogInterval());
        notify.ready("fine"); // a no-op, not a failure
    }

    @Test
    void theWatchdogIsPingedEveryHalfOfWatchdogUsecForThisPidOnly() {
        assertEquals(Duration.ofSeconds(15), SystemdNotify.of(Map.of("NOTIFY_SOCKET", "@x", "WATCHDOG_USEC", "30000000"),
                42, LOG).watchdogInterval());
        assertEquals(Duration.ofMillis(200), SystemdNotify.of(Map.of("NOTIFY_SOCKET", "/run/x", "WATCHDOG_USEC", "400000",
                "WATCHDOG_PID", "42"), 42, LOG).watchdogInterval());
        SystemdNotify other = SystemdNotify.of(Map.of("NOTIFY_SOCKET", "@x", "WATCHDOG_USEC", "400000", "WATCHDOG_PID", "7"),
                42, LOG);
        assertTrue(other.enabled());
        assertNull(other.watchdogInterval(), "WATCHDOG_PID names another process");
    }

    @Test
    void aWatchdogUsecThatIsNoNumberIsAUsageError() {
        assertThrows(IllegalArgumentException.class,
                () -> SystemdNotify.of(Map.of("NOTIFY_SOCKET", "@x", "WATCHDOG_USEC", "30s"), 42, LOG));
    }

    @Test
    void theHeartbeatIsAliveInAWaitOrWhenItLeftOneRecently() throws InterruptedException {
        AcceptorHeartbeat heartbeat = new AcceptorHeartbeat();
        Duration limit = Duration.ofMillis(50);
        heartbeat.busy();
        assertTrue(heartbeat.alive(limit), "just left a wait point");
        Thread.sleep(80);
        assertFalse(heartbeat.alive(limit), "busy too long: wedged");
        heartbeat.waiting();
        Thread.sleep(80);
        assertTrue(heartbeat.alive(limit), "a wait point may last");
        heartbeat.stopped();
        assertFalse(heartbeat.alive(limit), "stopped for good");
    }
}
