package forkserver.supervisor.reap;

import forkserver.supervisor.spawn.ChildProcess;
import forkserver.supervisor.spawn.Reaper;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.log.EventLog;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/**
 * For unit tests of the supervisor's parts: real child processes as the supervisor holds them
 * ({@link ChildProcess}, watched by a real {@link Reaper}), and an {@link EventLog} whose lines
 * the test can read. No descriptor of the test JVM's own stdio is touched.
 */
public final class Processes {

    private Processes() {
    }

    /** Starts {@code command} (stdio discarded); nobody watches it until it is given to a registry or a reaper. */
    public static ChildProcess start(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            return new ChildProcess(process, pidfd(process), true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Its pidfd, or -1 when it has already exited and been reaped (ESRCH), as the Spawner does. */
    private static int pidfd(Process process) {
        try {
            return Posix.pidfdOpen(process.pid());
        } catch (ErrnoException e) {
            if (e.errno() == forkserver.posix.Errno.ESRCH) {
                return -1;
            }
            throw new UncheckedIOException(e);
        }
    }

    /** A reaper whose exit handler is {@code exits}. */
    public static Reaper reaper(Consumer<ChildProcess> exits) {
        try {
            return new Reaper(exits);
        } catch (ErrnoException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A log the test reads back, line by line. */
    public static final class Log {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        public final EventLog log = new EventLog(new PrintStream(bytes, true, StandardCharsets.UTF_8), EventLog.Format.TEXT);

        public synchronized List<String> lines() {
            return bytes.toString(StandardCharsets.UTF_8).lines().toList();
        }

        public boolean has(String fragment) {
            return lines().stream().anyMatch(line -> line.contains(fragment));
        }
    }
}
