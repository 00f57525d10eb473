package forkserver.worker;

import forkserver.testkit.Command;
import forkserver.testkit.Project;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.classfile.ClassFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The start-up check ({@code Launcher --check}, which the supervisor runs once) on handlers the
 * worker's runtime cannot run: one that uses a JDK module a jlinked runtime lacks (as the Debian
 * package's does), and one compiled for a newer Java. Each is one line naming the cause and the
 * fix, exit 2, before any client; the same handler passes on a runtime that can run it.
 */
class HandlerCheckIT {

    @TempDir
    static Path work;
    private static Path classes;
    /** A runtime of java.base only, with the list bin/package writes (packaging/AbsentPackages.java). */
    private static Path runtime;

    @BeforeAll
    static void handlersAndARuntime() throws IOException {
        Path sources = work.resolve("src");
        classes = work.resolve("classes");
        Files.createDirectories(sources.resolve("sqlhandler"));
        Files.createDirectories(sources.resolve("newer"));
        // java.sql is used inside serve only: loading the class does not touch it.
        Files.writeString(sources.resolve("sqlhandler/UsesSql.java"), """
                package sqlhandler;
                public final class UsesSql implements forkserver.handler.Handler {
                    @Override
                    public void serve(forkserver.handler.Connection connection) throws java.io.IOException {
                        connection.out().write(("timeout " + java.sql.DriverManager.getLoginTimeout()).getBytes());
                    }
                }
                """);
        Files.writeString(sources.resolve("newer/Newer.java"), """
                package newer;
                public final class Newer implements forkserver.handler.Handler {
                    @Override
                    public void serve(forkserver.handler.Connection connection) {
                    }
                }
                """);
        ByteArrayOutputStream javacOutput = new ByteArrayOutputStream();
        int javac = ToolProvider.getSystemJavaCompiler().run(null, javacOutput, javacOutput, "-d", classes.toString(),
                "-cp", workerJar(), sources.resolve("sqlhandler/UsesSql.java").toString(),
                sources.resolve("newer/Newer.java").toString());
        assertEquals(0, javac, javacOutput.toString(StandardCharsets.UTF_8));
        // What javac of the next Java would write: the class file's major version one higher.
        Path newer = classes.resolve("newer/Newer.class");
        byte[] bytes = Files.readAllBytes(newer);
        int version = ClassFile.latestMajorVersion() + 1;
        bytes[6] = (byte) (version >> 8);
        bytes[7] = (byte) version;
        Files.write(newer, bytes);

        runtime = work.resolve("runtime");
        String jdk = Project.javaHome();
        Command.Result jlink = Command.run(List.of(jdk + "/bin/jlink", "--add-modules", "java.base",
                "--output", runtime.toString()), "", Duration.ofMinutes(5));
        assertEquals(0, jlink.exitValue(), jlink.stdout() + jlink.stderr());
        Command.Result absent = Command.run(List.of(jdk + "/bin/java",
                Project.home().resolve("packaging/AbsentPackages.java").toString(), runtime.toString()), "", Duration.ofMinutes(2));
        assertEquals(0, absent.exitValue(), absent.stderr());
    }

    @Test
    void aJdkModuleTheRuntimeLacksIsNamedWithTheWayToAddIt() {
        Command.Result check = check(runtime.resolve("bin/java").toString(), "sqlhandler.UsesSql");
        assertEquals(Launcher.EXIT_USAGE, check.exitValue(), check.stderr());
        assertEquals(List.of("forkserver worker: handler sqlhandler.UsesSql needs java.sql.DriverManager (in UsesSql.class),"
                + " from the JDK module java.sql, which the worker's Java runtime (" + runtime + ") does not have;"
                + " add it with bin/package --add-modules java.sql, or run the worker on a full JDK"), check.stderrLines());
        assertEquals("", check.stdout());
    }

    @Test
    void theSameHandlerPassesOnAFullJdk() {
        Command.Result check = check(Project.javaHome() + "/bin/java", "sqlhandler.UsesSql");
        assertEquals(Launcher.EXIT_OK, check.exitValue(), check.stderr());
        assertEquals("", check.stderr());
    }

    @Test
    void aClassFileNewerThanTheRuntimeIsOneLineNotAnUnknownClass() {
        Command.Result check = check(Project.javaHome() + "/bin/java", "newer.Newer");
        assertEquals(Launcher.EXIT_USAGE, check.exitValue(), check.stderr());
        int latest = ClassFile.latestMajorVersion();
        int feature = Runtime.version().feature();
        assertEquals(List.of("forkserver worker: handler newer.Newer is compiled for a newer Java than this worker's"
                + " runtime: class file version " + (latest + 1) + " (Java " + (feature + 1) + "), and the runtime is Java "
                + feature + " (up to class file version " + latest + "); compile it with --release " + feature
                + " (maven.compiler.release), or run the worker on a newer JDK"), check.stderrLines());
    }

    /** A JDK class missing when serve first uses it (no start-up check ran): one line, status 1. */
    @Test
    void aJdkClassMissingWhileServingIsOneLine() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (SocketPair sockets = SocketPair.open()) {
            int status = Launcher.serve(sockets.server(), MissingJdkClass.class.getName(), null, List.of(), java.util.Map.of(),
                    null, err);
            assertEquals(Launcher.EXIT_HANDLER_FAILED, status);
        }
        String said = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(1, said.lines().count(), said);
        assertFalse(said.contains("\tat "), said);
        assertEquals("forkserver worker: handler " + MissingJdkClass.class.getName() + " needs java.sql.Connection,"
                + " which the worker's Java runtime (" + System.getProperty("java.home") + ") does not have;"
                + " run the worker on a JDK that has it\n", said);
    }

    /** What the JVM throws when serve first touches a class of a module the runtime lacks. */
    public static final class MissingJdkClass implements forkserver.handler.Handler {
        @Override
        public void serve(forkserver.handler.Connection connection) {
            throw new NoClassDefFoundError("java/sql/Connection");
        }
    }

    private static Command.Result check(String java, String handler) {
        Command.Result result = Command.run(List.of(java, "-cp", workerJar() + ":" + classes, "forkserver.worker.Launcher",
                "--check", handler), "", Duration.ofMinutes(2));
        assertFalse(result.killedByWatchdog());
        return result;
    }

    private static String workerJar() {
        return Project.home().resolve("worker/target/forkserver-worker.jar").toString();
    }
}
