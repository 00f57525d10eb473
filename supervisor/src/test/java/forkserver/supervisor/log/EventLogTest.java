package forkserver.supervisor.log;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Reject lines are rate-limited, and what was dropped is said, by reason, once lines flow again. */
class EventLogTest {

    @Test
    void rejectLinesPastTheBurstAreCountedAndSaidOnce() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong();
        EventLog log = new EventLog(new PrintStream(bytes, true, StandardCharsets.UTF_8), EventLog.Format.TEXT, false,
                now::get);
        LogLine.Count children = new LogLine.Count(0, 40);
        for (int i = 0; i < EventLog.REJECT_BURST + 250; i++) {
            log.reject("127.0.0.1:" + (1000 + i), "127.0.0.1:9090", null, i % 5 == 0 ? "max-per-source" : "denied", null,
                    children);
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(EventLog.REJECT_BURST, lines.size(), "the burst, then nothing");
        // One token back: the summary of what was dropped, then the line itself.
        now.addAndGet(EventLog.REJECT_REFILL.toNanos() / EventLog.REJECT_BURST);
        log.reject("127.0.0.1:7", "127.0.0.1:9090", null, "denied", null, children);
        List<String> after = bytes.toString(StandardCharsets.UTF_8).lines().skip(EventLog.REJECT_BURST).toList();
        assertEquals(List.of("forkserver: reject-dropped lines=250 reasons=denied:200,max-per-source:50",
                "forkserver: reject remote=127.0.0.1:7 local=127.0.0.1:9090 reason=denied children=0/40"), after);
        // Dropped again, then said at the drain.
        log.reject("127.0.0.1:8", "127.0.0.1:9090", null, "denied", null, children);
        log.stopping("TERM", 0, Duration.ofSeconds(10));
        List<String> last = bytes.toString(StandardCharsets.UTF_8).lines().skip(EventLog.REJECT_BURST + 2).toList();
        assertEquals("forkserver: reject-dropped lines=1 reasons=denied:1", last.getFirst());
        assertEquals(true, last.get(1).startsWith("forkserver: stopping "), last.toString());
    }
}
