package forkserver.supervisor.log;

import forkserver.posix.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One event of the log, as an ordered list of named fields, written in either of the two
 * formats: {@code text} ({@code forkserver: end pid=123 status=0 duration=0.074s ...}) or
 * {@code json} (one object a line: {@code {"event":"end","pid":123,"status":0,"duration":0.074}}),
 * where a field's name has {@code _} for the text's {@code -} ({@code per_source}).
 *
 * <p>The JSON is written here by hand rather than with a library: the values are a handful of
 * types (text, whole numbers, durations, a count against its limit, small maps of counts), and {@link #json()} escapes every string per
 * RFC 8259, which the tests check with an independent parser.
 */
public final class LogLine {

    /** {@code children=3/40} in text; {@code "children":3,"children_limit":40} in JSON. */
    public record Count(long now, long limit) {
    }

    /** {@code memory-peak=12.3MiB} in text (a binary unit); {@code "memory_peak":12897484} (bytes) in JSON. */
    public record Bytes(long bytes) {

        private static final String[] UNITS = {"KiB", "MiB", "GiB", "TiB"};

        @Override
        public String toString() {
            if (bytes < 1024) {
                return bytes + "B";
            }
            double value = bytes;
            int unit = -1;
            while (value >= 1024 && unit < UNITS.length - 1) {
                value /= 1024;
                unit++;
            }
            long tenths = Math.round(value * 10);
            return tenths / 10 + "." + tenths % 10 + UNITS[unit];
        }
    }

    private record Field(String name, Object value, boolean jsonOnly) {
    }

    private final String event;
    private final List<Field> fields = new ArrayList<>();
    private String textHead;

    LogLine(String event) {
        this.event = event;
    }

    /** Adds a field: a String, a whole number, a Duration, a {@link Count} or a map of counts. */
    LogLine with(String name, Object value) {
        fields.add(new Field(name, value, false));
        return this;
    }

    /** Adds a field before all others ({@code time} with --log-timestamps). */
    LogLine first(String name, Object value) {
        fields.addFirst(new Field(name, value, false));
        return this;
    }

    /** Adds a field to the JSON form only: the text has it in its {@link #textHead}. */
    LogLine jsonOnly(String name, Object value) {
        fields.add(new Field(name, value, true));
        return this;
    }

    /** Text format only: what follows the event's name before the fields (`listening on ADDR`). */
    LogLine textHead(String head) {
        this.textHead = head;
        return this;
    }

    String text() {
        StringBuilder line = new StringBuilder("forkserver: ").append(textHead != null ? textHead : event);
        for (Field field : fields) {
            if (field.jsonOnly()) {
                continue;
            }
            line.append(' ').append(field.name()).append('=').append(textValue(field.value()));
        }
        return line.toString();
    }

    String json() {
        StringBuilder line = new StringBuilder("{\"event\":");
        string(line, event);
        for (Field field : fields) {
            // per-source in text, per_source in JSON: a name jq can take without quotes.
            String name = field.name().replace('-', '_');
            line.append(',');
            string(line, name);
            line.append(':');
            if (field.value() instanceof Count count) {
                line.append(count.now()).append(',');
                string(line, name + "_limit");
                line.append(':').append(count.limit());
            } else {
                jsonValue(line, field.value());
            }
        }
        return line.append('}').toString();
    }

    private static String textValue(Object value) {
        return switch (value) {
            case Duration duration -> EventLog.seconds(duration);
            case Count count -> count.now() + "/" + count.limit();
            case Map<?, ?> map when map.isEmpty() -> "none";
            case Map<?, ?> map -> {
                StringBuilder text = new StringBuilder();
                map.forEach((key, count) -> text.append(text.isEmpty() ? "" : ",").append(key).append(':').append(count));
                yield text.toString();
            }
            case String text when text.isEmpty() || text.chars().anyMatch(c -> c <= ' ' || c == '"' || unprintable(c)) -> quote(text);
            default -> value.toString();
        };
    }

    private static void jsonValue(StringBuilder json, Object value) {
        switch (value) {
            case Integer number -> json.append(number);
            case Long number -> json.append(number);
            case Bytes size -> json.append(size.bytes());
            case Duration duration -> json.append(seconds(duration));
            case Map<?, ?> map -> {
                json.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    json.append(first ? "" : ",");
                    first = false;
                    string(json, entry.getKey().toString());
                    json.append(':');
                    jsonValue(json, entry.getValue());
                }
                json.append('}');
            }
            default -> string(json, value.toString());
        }
    }

    /**
     * {@code 0.074}: seconds to the millisecond, rounded half up, as both formats write a duration.
     * By hand: {@code String.format} parses its pattern on every call, and the start and end
     * lines are on every connection's path.
     */
    static String seconds(Duration duration) {
        return Durations.seconds(duration);
    }

    /** A JSON string: quotes, backslashes and control characters escaped (RFC 8259 section 7). */
    private static void string(StringBuilder json, String text) {
        json.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    // RFC 8259 requires only < 0x20; the rest a line-splitting reader (Python's
                    // splitlines, JavaScript before ES2019) would also take for a line's end.
                    if (c < 0x20 || unprintable(c)) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }

    /**
     * DEL, the C1 controls (NEL, U+0085, among them), the line and paragraph separators
     * (U+2028, U+2029) and the invisible format characters (the bidirectional overrides that
     * reorder what a terminal shows): what no log line should carry as such.
     */
    static boolean unprintable(int c) {
        if (c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
            return true;
        }
        int type = Character.getType(c);
        return type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR || type == Character.FORMAT
                || type == Character.CONTROL;
    }

    /** Text format: a value with blanks or quotes in double quotes, backslash-escaped. */
    private static String quote(String text) {
        StringBuilder quoted = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> quoted.append("\\\"");
                case '\\' -> quoted.append("\\\\");
                case '\n' -> quoted.append("\\n");
                case '\r' -> quoted.append("\\r");
                case '\t' -> quoted.append("\\t");
                // Other control characters (a child's ESC sequences) would reach a terminal as such,
                // and a line or paragraph separator would split the line for a reader that splits on
                // them: written as escapes, a child's bytes can never forge an event of their own.
                default -> quoted.append(c < 0x20 || unprintable(c)
                        ? String.format(c < 0x100 ? "\\x%02x" : "\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return quoted.append('"').toString();
    }
}
