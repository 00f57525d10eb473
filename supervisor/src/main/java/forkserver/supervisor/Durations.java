package forkserver.supervisor;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as an operator writes them: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}; a bare number is seconds. */
final class Durations {

    private static final Pattern FORM = Pattern.compile("(\\d+)(ms|s|m|h)?");

    private Durations() {
    }

    static Duration parse(String text) {
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a duration such as 500ms, 10s, 2m or 1h, got '" + text + "'");
        }
        long amount = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofSeconds(amount);
        };
    }
}
