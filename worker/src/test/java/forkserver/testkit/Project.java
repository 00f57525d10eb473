package forkserver.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the project and its bin/ scripts are, for tests that run them as a user would. */
public final class Project {

    private Project() {
    }

    /** The project root: {@code -Dforkserver.home} (Maven sets it), else found upwards from here. */
    public static Path home() {
        String property = System.getProperty("forkserver.home");
        if (property != null) {
            return Path.of(property).toAbsolutePath().normalize();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isExecutable(dir.resolve("bin/supervisor"))) {
                return dir;
            }
        }
        throw new IllegalStateException("cannot find the project root (no bin/supervisor above " + Path.of("").toAbsolutePath() + ")");
    }

    public static String bin(String script) {
        return home().resolve("bin").resolve(script).toString();
    }

    /** The JDK running the tests (>= 25), handed to the scripts as JAVA_HOME. */
    public static String javaHome() {
        return System.getProperty("java.home");
    }
}
