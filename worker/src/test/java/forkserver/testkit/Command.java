package forkserver.testkit;

import org.apache.commons.exec.CommandLine;
import org.apache.commons.exec.DefaultExecutor;
import org.apache.commons.exec.ExecuteException;
import org.apache.commons.exec.ExecuteWatchdog;
import org.apache.commons.exec.PumpStreamHandler;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a command to completion under a watchdog (commons-exec), its stdin a pipe fed with
 * {@code input}, and returns what it printed: for usage errors, and for a worker whose fd 0 is a
 * pipe.
 */
public final class Command {

    public record Result(int exitValue, String stdout, String stderr, boolean killedByWatchdog) {

        /** stderr's lines, for "exactly one line" checks. */
        public List<String> stderrLines() {
            return stderr.lines().toList();
        }
    }

    private Command() {
    }

    public static Result run(List<String> command, String input, Duration timeout) {
        return run(command, input, timeout, Map.of());
    }

    public static Result run(List<String> command, String input, Duration timeout, Map<String, String> env) {
        CommandLine line = new CommandLine(command.getFirst());
        for (String argument : command.subList(1, command.size())) {
            line.addArgument(argument, false);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ExecuteWatchdog watchdog = ExecuteWatchdog.builder().setTimeout(timeout).get();
        DefaultExecutor executor = DefaultExecutor.builder().get();
        executor.setStreamHandler(new PumpStreamHandler(out, err,
                new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8))));
        executor.setWatchdog(watchdog);
        executor.setExitValues(null); // every exit value is a result, not an exception
        Map<String, String> environment = new HashMap<>(System.getenv());
        environment.put("JAVA_HOME", Project.javaHome());
        environment.putAll(env);
        int exit;
        try {
            exit = executor.execute(line, environment);
        } catch (ExecuteException e) {
            exit = e.getExitValue();
        } catch (IOException e) {
            throw new UncheckedIOException("running " + command, e);
        }
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                watchdog.killedProcess());
    }
}
