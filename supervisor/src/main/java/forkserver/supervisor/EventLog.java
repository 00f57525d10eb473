package forkserver.supervisor;

import java.io.PrintStream;
import java.time.Duration;

/**
 * The supervisor's log: one line an event, on stderr, fixed and grep-able, in the spirit of
 * tcpserver ({@code forkserver: start pid=123 remote=127.0.0.1:4711 ...}).
 *
 * <p>Never stdout: in {@code --stdio inout} mode fd 1 briefly is a client's socket while a child
 * is spawned, and nothing the supervisor writes may reach a client.
 */
final class EventLog {

    private static final String PREFIX = "forkserver: ";

    private final PrintStream out;

    EventLog(PrintStream out) {
        this.out = out;
    }

    void listening(String how, String address, int maxChildren, String command) {
        line("listening on " + address + " (" + how + ") max-children=" + maxChildren + " command=" + command);
    }

    void start(long pid, String remote, String local, int children, int limit) {
        line("start pid=" + pid + " remote=" + remote + " local=" + local + " children=" + children + "/" + limit);
    }

    void end(long pid, int exitValue, Duration duration, int children, int limit) {
        line("end pid=" + pid + " " + ExitStatus.describe(exitValue) + " duration=" + seconds(duration)
                + " children=" + children + "/" + limit);
    }

    void spawnFailed(String remote, String reason) {
        line("spawn-failed remote=" + remote + " reason=" + quote(reason));
    }

    void acceptFailed(String reason, Duration pause) {
        line("accept-failed reason=" + quote(reason) + " pause=" + seconds(pause));
    }

    void stopping(String signal, int children, Duration grace) {
        line("stopping signal=" + signal + " children=" + children + " grace=" + seconds(grace));
    }

    void terminating(String signal, int children) {
        line("terminating signal=" + signal + " children=" + children);
    }

    void stopped(int leftBehind) {
        line("stopped" + (leftBehind > 0 ? " left-behind=" + leftBehind : ""));
    }

    private void line(String text) {
        out.println(PREFIX + text);
    }

    static String seconds(Duration duration) {
        return String.format("%.3fs", duration.toNanos() / 1e9);
    }

    private static String quote(String text) {
        return '"' + text.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
