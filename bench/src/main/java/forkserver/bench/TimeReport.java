package forkserver.bench;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code /usr/bin/time -v} reported for a server that has exited: the kernel's rusage of
 * the server and every descendant it (or they) waited for, threads that ended included. The
 * outside measurement, and the only one that sees context switches of processes already reaped.
 */
public record TimeReport(double userSeconds, double systemSeconds, long voluntarySwitches, long involuntarySwitches) {

    public static final String PROGRAM = "/usr/bin/time";

    public static TimeReport parse(String text) {
        return new TimeReport(number(text, "User time \\(seconds\\)"), number(text, "System time \\(seconds\\)"),
                (long) number(text, "Voluntary context switches"), (long) number(text, "Involuntary context switches"));
    }

    public double cpuMillis() {
        return (userSeconds + systemSeconds) * 1000;
    }

    public TimeReport minus(TimeReport other) {
        return new TimeReport(userSeconds - other.userSeconds, systemSeconds - other.systemSeconds,
                voluntarySwitches - other.voluntarySwitches, involuntarySwitches - other.involuntarySwitches);
    }

    private static double number(String text, String label) {
        Matcher m = Pattern.compile("^\\s*" + label + ":\\s*([0-9.]+)\\s*$", Pattern.MULTILINE).matcher(text);
        if (!m.find()) {
            throw new IllegalArgumentException("no '" + label.replace("\\", "") + "' in /usr/bin/time's report: " + text);
        }
        return Double.parseDouble(m.group(1));
    }
}
