package forkserver.supervisor.log;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Both log formats of one event; the JSON is read back with an independent parser (Gson). */
class LogLineTest {

    private static LogLine sample() {
        Map<String, Long> exited = new TreeMap<>(Map.of("status-0", 3L, "signal-KILL", 1L));
        return new LogLine("end").with("pid", 42L).with("status", 0).with("duration", Duration.ofMillis(74))
                .with("children", new LogLine.Count(1, 40)).with("reason", "a \"quoted\" \\ reason\n\u0001")
                .with("exited", exited).with("none", Map.of());
    }

    @Test
    void textIsKeyValueWithBlanksQuoted() {
        assertEquals("forkserver: end pid=42 status=0 duration=0.074s children=1/40"
                + " reason=\"a \\\"quoted\\\" \\\\ reason\\n\\x01\" exited=signal-KILL:1,status-0:3 none=none",
                sample().text());
    }

    @Test
    void controlCharactersAChildWroteReachNoTerminalRaw() {
        LogLine line = new LogLine("stderr").with("pid", 7L).with("line", "red \u001b[31mtext\rback\tand\u007f");
        assertEquals("forkserver: stderr pid=7 line=\"red \\x1b[31mtext\\rback\\tand\\x7f\"", line.text());
        assertEquals("red \u001b[31mtext\rback\tand\u007f",
                JsonParser.parseString(line.json()).getAsJsonObject().get("line").getAsString());
    }

    /**
     * A child's line holding what some reader takes for a line's end (NEL, U+2028, U+2029, C1
     * controls) or what reorders a terminal's display (U+202E) cannot forge an event: each is an
     * escape in the text and in the JSON, and no reader's split finds a second line.
     */
    @Test
    void separatorsAndInvisibleCharactersAChildWroteCannotForgeALine() {
        String forged = "ok\u0085forkserver: end pid=1 status=0\u2028x\u2029y\u009bz\u202eq é 中";
        LogLine line = new LogLine("stderr").with("pid", 7L).with("line", forged);
        assertEquals("forkserver: stderr pid=7 line=\"ok\\x85forkserver: end pid=1 status=0\\u2028x\\u2029y\\x9bz\\u202eq é 中\"",
                line.text());
        assertEquals(1, line.text().split("[\\n\\r\\u0085\\u2028\\u2029\\u001c-\\u001e]", -1).length);
        assertEquals(1, line.json().split("[\\n\\r\\u0085\\u2028\\u2029\\u001c-\\u001e]", -1).length);
        assertEquals(forged, JsonParser.parseString(line.json()).getAsJsonObject().get("line").getAsString());
    }

    @Test
    void aFieldPutFirstComesBeforeTheOthers() {
        LogLine line = new LogLine("stopped").with("left-behind", 1).first("time", "2026-01-31T12:00:00.000Z");
        assertEquals("forkserver: stopped time=2026-01-31T12:00:00.000Z left-behind=1", line.text());
        assertEquals("{\"event\":\"stopped\",\"time\":\"2026-01-31T12:00:00.000Z\",\"left_behind\":1}", line.json());
    }

    @Test
    void jsonParsesBackToTheSameValues() {
        JsonObject json = JsonParser.parseString(sample().json()).getAsJsonObject();
        assertEquals("end", json.get("event").getAsString());
        assertEquals(42, json.get("pid").getAsLong());
        assertEquals(0.074, json.get("duration").getAsDouble(), 1e-9);
        assertEquals(1, json.get("children").getAsInt());
        assertEquals(40, json.get("children_limit").getAsInt());
        assertEquals("a \"quoted\" \\ reason\n\u0001", json.get("reason").getAsString());
        assertEquals(1, json.getAsJsonObject("exited").get("signal-KILL").getAsInt());
        assertEquals(0, json.getAsJsonObject("none").size());
    }

    @Test
    void durationsAreSecondsToTheMillisecondRoundedHalfUp() {
        assertEquals("0.000", LogLine.seconds(java.time.Duration.ZERO));
        assertEquals("0.075", LogLine.seconds(java.time.Duration.ofNanos(74_500_000)));
        assertEquals("0.074", LogLine.seconds(java.time.Duration.ofNanos(74_499_999)));
        assertEquals("1.235", LogLine.seconds(java.time.Duration.ofNanos(1_234_567_800)));
        assertEquals("60.002", LogLine.seconds(java.time.Duration.ofMillis(60_002)));
        assertEquals("10.000s", EventLog.seconds(java.time.Duration.ofSeconds(10)));
    }

    @Test
    void aSizeIsABinaryUnitInTextAndBytesInJson() {
        assertEquals("0B 1023B 1.0KiB 9.5MiB 64.0MiB 1.5GiB", String.join(" ",
                java.util.stream.LongStream.of(0, 1023, 1024, 9_961_472, 64L << 20, 3L << 29)
                        .mapToObj(bytes -> new LogLine.Bytes(bytes).toString()).toList()));
        LogLine line = new LogLine("end").with("memory-peak", new LogLine.Bytes(67_108_864));
        assertEquals("forkserver: end memory-peak=64.0MiB", line.text());
        assertEquals(67_108_864L, JsonParser.parseString(line.json()).getAsJsonObject().get("memory_peak").getAsLong());
    }

    /** A boxed connection's end line: its cost after its duration, leftovers only when there were some. */
    @Test
    void theEndLineSaysWhatABoxedConnectionCost() {
        java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream json = new java.io.ByteArrayOutputStream();
        for (var out : java.util.List.of(text, json)) {
            EventLog log = new EventLog(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
                    out == text ? EventLog.Format.TEXT : EventLog.Format.JSON, false);
            log.end(7, 128 + 9, Duration.ofMillis(412), new EventLog.Cost(Duration.ofMillis(231), 64L << 20, true, 0),
                    "127.0.0.1:1", "127.0.0.1:2", null, new LogLine.Count(0, 40), null);
            log.end(8, 0, Duration.ofMillis(1191), new EventLog.Cost(Duration.ofMillis(6), 663_552, false, 1),
                    "127.0.0.1:3", "127.0.0.1:2", null, new LogLine.Count(0, 40), null);
        }
        assertEquals("""
                forkserver: end pid=7 signal=KILL oom-kill=1 duration=0.412s cpu=0.231s memory-peak=64.0MiB remote=127.0.0.1:1 local=127.0.0.1:2 children=0/40
                forkserver: end pid=8 status=0 duration=1.191s cpu=0.006s memory-peak=648.0KiB leftovers=1 remote=127.0.0.1:3 local=127.0.0.1:2 children=0/40
                """, text.toString(java.nio.charset.StandardCharsets.UTF_8));
        JsonObject second = JsonParser.parseString(json.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList().get(1))
                .getAsJsonObject();
        assertEquals(0.006, second.get("cpu").getAsDouble());
        assertEquals(663_552L, second.get("memory_peak").getAsLong());
        assertEquals(1, second.get("leftovers").getAsInt());
    }
}
