package forkserver.supervisor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The command run per connection when none is given: forkserver's worker, on the JVM running the
 * supervisor, with the options in {@code worker/jvm.options} (the same file bin/worker reads, so
 * a worker under inetd and one under the supervisor start alike).
 */
final class DefaultWorker {

    static final String OPTIONS_FILE = "worker/jvm.options";
    static final String JAR = "worker/target/forkserver-worker.jar";
    static final String MAIN_CLASS = "forkserver.worker.Launcher";

    private DefaultWorker() {
    }

    /**
     * The worker's command line. {@code FORKSERVER_WORKER_JAVA_OPTS} adds options after the
     * file's (so they win), {@code FORKSERVER_WORKER_CLASSPATH} adds jars for custom handlers.
     */
    static List<String> command(Path home, Map<String, String> env) {
        Path jar = home.resolve(JAR);
        if (!Files.isReadable(jar)) {
            throw new IllegalArgumentException("the worker jar " + jar + " is missing: build it with"
                    + " 'mvn -q -DskipTests package' (bin/supervisor does this on first use)");
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options(home));
        command.addAll(words(env.get("FORKSERVER_WORKER_JAVA_OPTS")));
        String extra = env.get("FORKSERVER_WORKER_CLASSPATH");
        command.add("-cp");
        command.add(extra == null || extra.isBlank() ? jar.toString() : jar + ":" + extra);
        command.add(MAIN_CLASS);
        return command;
    }

    /** The options file: one option a line, {@code #} comments, {@code ${FORKSERVER_HOME}} expanded. */
    static List<String> options(Path home) {
        Path file = home.resolve(OPTIONS_FILE);
        try {
            return Files.readAllLines(file).stream()
                    .map(line -> line.replaceFirst("#.*", "").strip())
                    .filter(line -> !line.isEmpty())
                    .map(line -> line.replace("${FORKSERVER_HOME}", home.toString()))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
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

    private static List<String> words(String text) {
        return text == null || text.isBlank() ? List.of() : Arrays.asList(text.strip().split("\\s+"));
    }
}
