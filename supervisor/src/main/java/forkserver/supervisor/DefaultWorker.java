package forkserver.supervisor;

import forkserver.supervisor.spawn.Spawner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The command run per connection when none is given: forkserver's worker, started exactly as
 * {@code bin/worker} starts it under inetd. bin/worker is the one place that knows the worker's
 * JVM options (worker/jvm.options, the AOT cache, the user's additions); asked once at startup
 * with {@code --print-command}, it prints the java command line, which the supervisor then runs
 * per connection directly, without paying for a shell each time.
 */
final class DefaultWorker {

    static final String SCRIPT = "bin/worker";

    private DefaultWorker() {
    }

    /** The worker's command line, from {@code HOME/bin/worker --print-command}. */
    static List<String> command(Path home) {
        return command(home, false);
    }

    /**
     * The worker's command line; for a {@code spare}, the one {@code bin/worker} prints with
     * {@code FORKSERVER_SPARE=1} (it differs by the AOT cache, trained on the hand-off).
     */
    static List<String> command(Path home, boolean spare) {
        Path script = home.resolve(SCRIPT);
        if (!Files.isExecutable(script)) {
            throw new IllegalArgumentException("no default worker: " + script + " is missing; give a COMMAND");
        }
        try {
            ProcessBuilder builder = new ProcessBuilder(script.toString(), "--print-command")
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            if (spare) {
                builder.environment().put(Spawner.SPARE_VARIABLE, "1");
            } else {
                builder.environment().remove(Spawner.SPARE_VARIABLE);
            }
            Process process = builder.start();
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0 || output.length == 0) {
                process.destroyForcibly();
                throw new IllegalArgumentException("no default worker: " + script + " --print-command failed");
            }
            return Arrays.asList(new String(output, StandardCharsets.UTF_8).split("\0"));
        } catch (IOException e) {
            throw new IllegalArgumentException("no default worker: cannot run " + script + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalArgumentException("interrupted while asking " + script + " for the worker's command");
        }
    }

    /** The project folder: {@code -Dforkserver.home} (bin/supervisor sets it), else where our jar is. */
    static Path home() {
        String property = System.getProperty("forkserver.home");
        if (property != null) {
            return Path.of(property).toAbsolutePath();
        }
        try {
            // .../supervisor/target/forkserver-supervisor.jar (or .../target/classes)
            Path code = Path.of(DefaultWorker.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return code.getParent().getParent().getParent();
        } catch (Exception e) {
            return Path.of("").toAbsolutePath();
        }
    }
}
