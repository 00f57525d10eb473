package forkserver.supervisor.base;

import forkserver.posix.Errno;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;

import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a failure costs, decided in one place. Either the connection at hand: it is closed (told
 * why under {@code --over-limit reject}), the failure is one log line with a short reason
 * ({@code EAGAIN}, {@code EMFILE}, ...), and the supervisor goes on. Or the whole supervisor: one
 * log line, the drain, exit status 1, so that the service manager starts a new one. Never a
 * process that is alive but has stopped serving.
 *
 * <p>The line between them: what the system refuses for one connection (a process, a thread
 * for its reaper, a descriptor, memory for a fork) and what a bug does on one connection's path
 * costs that connection; an {@link Error} of the supervisor's own JVM (its heap exhausted, a
 * stack overflow, a broken invariant such as fd 0 left on a client) costs the supervisor.
 */
public final class Failures {

    /** Who pays for a failure. */
    public enum Cost { CONNECTION, SUPERVISOR }

    /** A failure as the log tells it: who pays, a short reason, and one line of detail. */
    public record Failure(Cost cost, String reason, String detail) {
    }

    /** A child could not be started; nothing of it is left behind (no process, no descriptor). */
    public static final class SpawnFailed extends Exception {

        private static final long serialVersionUID = 1L;

        private final String reason;

        public SpawnFailed(String reason, String detail) {
            super(detail);
            this.reason = reason;
        }

        /** The errno's name ({@code EAGAIN}) or another short word. */
        public String reason() {
            return reason;
        }
    }

    /** A broken invariant of the supervisor itself: it cannot go on serving safely. */
    public static final class Broken extends Error {

        private static final long serialVersionUID = 1L;

        public Broken(String message, Throwable cause) {
            super(message, cause);
        }
    }

    // The JDK's words for a failed start: "Cannot run program "x": posix_spawn failed, error: 11
    // (Resource temporarily unavailable)" (JDK 25, then lines of advice) or "...: error=11, ..." (older).
    private static final Pattern JDK_ERRNO =
            Pattern.compile("(?:(\\w+ failed), )?error(?:=|: )(\\d+)(?:, | \\()([^)\\n]*)");
    private static final String NO_THREAD = "unable to create native thread";

    private Failures() {
    }

    /**
     * The threads that serve something beside connections: the metrics endpoint (ours and the
     * JDK server's dispatcher), systemd's notifications, the signal handlers. What escapes one of
     * them uncaught costs that thread and what it serves, never the supervisor: only the accept
     * path and the child registry may end it.
     */
    public static final java.util.Set<String> SIDE_THREADS = java.util.Set.of(
            "forkserver-metrics", "HTTP-Dispatcher", "forkserver-notify", "SIGHUP handler", "SIGUSR1 handler");

    /**
     * Whether {@code failure}, escaped uncaught from the thread named {@code thread}, ends the
     * supervisor: an {@link Error} anywhere (its JVM is in doubt), anything on the accept path or
     * in the registry's threads (a supervisor alive but no longer accepting or reaping would be
     * worse than none); on a {@link #SIDE_THREADS side thread} an exception costs that thread.
     */
    public static boolean endsSupervisor(String thread, Throwable failure) {
        return failure instanceof Error || !SIDE_THREADS.contains(thread);
    }

    /** What {@code failure} costs and how the log names it. */
    public static Failure of(Throwable failure) {
        return switch (failure) {
            case SpawnFailed spawn -> new Failure(Cost.CONNECTION, spawn.reason(), spawn.getMessage());
            case ErrnoException errno -> new Failure(Cost.CONNECTION, errno.name(), errno.getMessage());
            case IOException io -> {
                SpawnFailed spawn = spawnFailed(io);
                yield new Failure(Cost.CONNECTION, spawn.reason(), spawn.getMessage());
            }
            case OutOfMemoryError oom when isNoThread(oom) ->
                    new Failure(Cost.CONNECTION, Errno.name(Errno.EAGAIN), "no thread could be started: " + NO_THREAD);
            case OutOfMemoryError oom -> new Failure(Cost.SUPERVISOR, "out-of-memory", firstLine(oom.toString()));
            case Error error -> new Failure(Cost.SUPERVISOR, "internal-error", firstLine(error.toString()));
            default -> new Failure(Cost.CONNECTION, "internal-error", firstLine(failure.toString()));
        };
    }

    /**
     * Closes a descriptor of the supervisor's own (a client's socket, a pidfd, a pipe end). The
     * only way that fails is EBADF (EINTR is handled below): a descriptor closed twice or mixed
     * up, after which no descriptor can be trusted, so it is {@link Broken}. {@code what} names it.
     */
    public static void closeOwn(int fd, String what) {
        try {
            Posix.close(fd);
        } catch (ErrnoException e) {
            throw new Broken("closing " + what + " (fd " + fd + "): " + e.getMessage(), e);
        }
    }

    /** Whether the JVM could not start a thread (the user's or cgroup's task limit, or memory). */
    public static boolean isNoThread(OutOfMemoryError error) {
        return error.getMessage() != null && error.getMessage().contains(NO_THREAD);
    }

    /**
     * A failed {@link ProcessBuilder#start()} as one short reason: the errno's name and the C
     * library's text, not the JDK's lines of advice.
     */
    public static SpawnFailed spawnFailed(IOException failure) {
        String message = failure.getMessage() == null ? failure.toString() : failure.getMessage();
        Matcher m = JDK_ERRNO.matcher(message);
        if (m.find()) {
            String text = m.group(3).strip();
            return new SpawnFailed(Errno.name(Integer.parseInt(m.group(2))),
                    m.group(1) != null ? m.group(1) + ": " + text : text);
        }
        return new SpawnFailed("EIO", firstLine(message));
    }

    public static String firstLine(String text) {
        int end = text.indexOf('\n');
        return (end < 0 ? text : text.substring(0, end)).strip();
    }
}
