package forkserver.supervisor;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The handler forkserver's worker runs ({@code --handler CLASS}, {@code --handler-arg ARG}, or
 * {@code FORKSERVER_HANDLER} from the environment), and the start-up check that it can be loaded.
 *
 * <p>The check runs the workers' own command line once with {@code --check CLASS}: the same JVM,
 * options and class path ({@code FORKSERVER_WORKER_CLASSPATH}) every connection's worker will
 * have, so what it accepts is what they can load. A misspelled class is then one line and exit 2
 * at start-up, instead of every client closed unanswered.
 */
final class WorkerHandler {

    static final String VARIABLE = "FORKSERVER_HANDLER";
    static final String CHECK = "--check";
    private static final String WORKER_PREFIX = "forkserver worker: ";
    private static final long CHECK_TIMEOUT_SECONDS = 120;

    private final String name;
    private final List<String> words;

    private WorkerHandler(String name, List<String> words) {
        this.name = name;
        this.words = words;
    }

    /**
     * The handler chosen by the options, else by {@code FORKSERVER_HANDLER} in the children's
     * environment; an IllegalArgumentException names the option misused.
     *
     * @param defaultWorker whether COMMAND is forkserver's worker (no COMMAND given)
     */
    static WorkerHandler choose(String handler, List<String> handlerArguments, boolean defaultWorker,
            Map<String, String> environment) {
        if (handler == null && !handlerArguments.isEmpty()) {
            throw new IllegalArgumentException("--handler-arg needs --handler");
        }
        if (handler != null && !defaultWorker) {
            throw new IllegalArgumentException("--handler needs forkserver's worker as COMMAND (give no COMMAND,"
                    + " or name the handler on your COMMAND's own command line)");
        }
        if (handler != null && handler.isBlank()) {
            throw new IllegalArgumentException("--handler is empty: give a class name, or echo");
        }
        if (handler == null) {
            String fromEnvironment = environment.get(VARIABLE);
            boolean named = defaultWorker && fromEnvironment != null && !fromEnvironment.isBlank();
            return new WorkerHandler(named ? fromEnvironment : null, List.of());
        }
        List<String> words = new ArrayList<>();
        words.add(handler);
        words.addAll(handlerArguments);
        return new WorkerHandler(handler, List.copyOf(words));
    }

    /** {@code workerCommand} with the handler and its arguments after it. */
    List<String> command(List<String> workerCommand) {
        if (words.isEmpty()) {
            return workerCommand;
        }
        List<String> command = new ArrayList<>(workerCommand);
        command.addAll(words);
        return List.copyOf(command);
    }

    /**
     * Checks with {@code workerCommand --check CLASS} that the worker can load the handler (and,
     * with {@code tls}, its TLS key and certificates: {@link WorkerTls}), then returns
     * {@link #command}. An IllegalArgumentException carries the worker's one line.
     */
    List<String> checkedCommand(List<String> workerCommand, Map<String, String> environment, boolean tls) {
        if (tls || (name != null && !name.equals("echo"))) {
            check(workerCommand, environment);
        }
        return command(workerCommand);
    }

    private void check(List<String> workerCommand, Map<String, String> environment) {
        List<String> command = new ArrayList<>(workerCommand);
        command.add(CHECK);
        command.add(name == null ? "echo" : name);
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true);
        builder.environment().clear();
        builder.environment().putAll(environment); // the children's: their FORKSERVER_WORKER_CLASSPATH
        try {
            Process process = builder.start();
            byte[] output = process.getInputStream().readNBytes(64 * 1024);
            if (!process.waitFor(CHECK_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalArgumentException("handler " + name + ": the worker's check did not end within "
                        + CHECK_TIMEOUT_SECONDS + "s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalArgumentException(lastLine(new String(output, StandardCharsets.UTF_8),
                        "the worker's start-up check failed (exit " + process.exitValue() + ")"));
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot run the worker to check handler " + name + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalArgumentException("interrupted while checking handler " + name);
        }
    }

    /** The worker's last line of output, without its prefix; {@code otherwise} when it said nothing. */
    static String lastLine(String output, String otherwise) {
        String[] lines = output.strip().split("\n");
        String last = lines[lines.length - 1].strip();
        if (last.isEmpty()) {
            return otherwise;
        }
        return last.startsWith(WORKER_PREFIX) ? last.substring(WORKER_PREFIX.length()) : last;
    }
}
