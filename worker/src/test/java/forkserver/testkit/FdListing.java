package forkserver.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A child's descriptors as {@code ls -l /proc/$$/fd} printed them on its connection: fd number
 * to target ({@code socket:[123]}, {@code pipe:[456]}, {@code /dev/null}).
 */
public final class FdListing {

    /** The shell command that prints the listing, then the marker {@link #read} stops at. */
    public static final String LIST_FDS = "ls -l /proc/$$/fd; echo end";

    private static final Pattern LS_LINE = Pattern.compile(" (\\d+) -> (.+)$");

    private FdListing() {
    }

    /** Every line the client receives up to the marker line {@code end}, without it. */
    public static List<String> linesUntilEnd(EchoClient client) {
        List<String> lines = new ArrayList<>();
        for (String line; !(line = client.readLine()).equals("end"); ) {
            lines.add(line);
        }
        return lines;
    }

    /** The descriptors listed among {@code lines}; other lines are ignored. */
    public static Map<Integer, String> parse(List<String> lines) {
        Map<Integer, String> fds = new TreeMap<>();
        for (String line : lines) {
            Matcher m = LS_LINE.matcher(line);
            if (m.find()) {
                fds.put(Integer.parseInt(m.group(1)), m.group(2));
            }
        }
        return fds;
    }
}
