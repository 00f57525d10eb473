package forkserver.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * What a model needs to build its server's command line: where the project and the JDK are, the
 * native echo program, and the loopback address to listen on.
 *
 * @param home       the project's root (bin/supervisor, bin/worker)
 * @param java       the JDK's {@code java} for the in-JVM servers
 * @param classpath  the bench's classes and the worker jar, for the in-JVM servers
 * @param nativeEcho the native echo program's command line (compiled C, or the sh loop)
 * @param host       a loopback address
 * @param port       a free port on it
 */
public record ServerContext(Path home, String java, String classpath, List<String> nativeEcho, String host, int port) {

    public String address() {
        return host + ":" + port;
    }

    public String bin(String script) {
        return home.resolve("bin").resolve(script).toString();
    }

    /** {@code java} with the in-JVM servers' options and class path, then {@code mainClass}. */
    public List<String> javaServer(Class<?> mainClass) {
        // The serial collector, as the supervisor and the worker use: no GC threads to count.
        return List.of(java, "-XX:+UseSerialGC", "-cp", classpath, mainClass.getName());
    }
}
