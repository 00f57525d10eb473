package forkserver.posix;

import java.math.BigInteger;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as an operator writes them: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}; a bare
 * number is seconds. One format for the supervisor's options and the worker's variables
 * ({@code FORKSERVER_IDLE_TIMEOUT}, the TLS handshake timeout), which an operator may also write
 * under inetd or systemd. No native call: a worker that reads a duration loads this class alone
 * of this jar.
 */
public final class Durations {

    /**
     * The longest duration any option takes: a year. Longer is a typo, and past ~292 years the
     * nanoseconds every timer counts in overflow (at the first connection, or at SIGTERM).
     */
    public static final Duration MAX = Duration.ofDays(365);

    private static final Pattern FORM = Pattern.compile("(\\d+)(ms|s|m|h)?");

    private Durations() {
    }

    /** A well-formed duration longer than {@link #MAX}: said as such, not as a format error. */
    public static final class TooLong extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        TooLong(String message) {
            super(message);
        }
    }

    public static Duration parse(String text) {
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a duration such as 500ms, 10s, 2m or 1h, got '" + text + "'");
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        long millisPerUnit = switch (unit) {
            case "ms" -> 1;
            case "m" -> 60_000;
            case "h" -> 3_600_000;
            default -> 1_000;
        };
        // Any number of digits is read, so that a long one is "too long", not "For input string".
        BigInteger millis = new BigInteger(m.group(1)).multiply(BigInteger.valueOf(millisPerUnit));
        if (millis.compareTo(BigInteger.valueOf(MAX.toMillis())) > 0) {
            throw new TooLong("'" + text.trim() + "' is too long: at most " + MAX.toHours() + "h (a year)");
        }
        return Duration.ofMillis(millis.longValueExact());
    }

    /** Seconds with milliseconds, as the log writes them: {@code 1.250} (rounded to the millisecond). */
    public static String seconds(Duration duration) {
        long millis = Math.floorDiv(duration.toNanos() + 500_000, 1_000_000);
        long whole = Math.floorDiv(millis, 1000);
        int fraction = Math.floorMod(millis, 1000);
        return whole + (fraction < 10 ? ".00" : fraction < 100 ? ".0" : ".") + fraction;
    }
}
