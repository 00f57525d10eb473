package forkserver.supervisor;

import forkserver.testkit.Command;
import forkserver.testkit.Limited;
import forkserver.testkit.Project;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * After a {@code git pull} the jars are older than the sources: bin/supervisor must not run the
 * old code silently. Where it may not rebuild (an installation the service's user cannot write,
 * as under the shipped unit) it refuses with one line saying how.
 */
class StaleJarsIT {

    private static final String SOURCE = "supervisor/src/main/java/forkserver/supervisor/Main.java";

    @Test
    void sourcesNewerThanTheJarsAreRefusedWithOneLineWhereTheyCannotBeRebuilt(@TempDir Path directory) throws IOException {
        assumeTrue(Limited.root(), "needs root to run the copy as an unprivileged user");
        Path copy = installedCopy(directory);
        List<String> asUser = Limited.asUser(List.of(copy.resolve("bin/supervisor").toString(), "--version"));

        Command.Result fresh = Command.run(asUser, "", Duration.ofSeconds(60));
        assertEquals(0, fresh.exitValue(), fresh.stderr());
        assertTrue(fresh.stdout().matches("forkserver \\S+\n"), "fresh jars: it just runs: " + fresh.stdout());

        Files.setLastModifiedTime(copy.resolve(SOURCE), FileTime.from(Instant.now().plusSeconds(60)));
        Command.Result stale = Command.run(asUser, "", Duration.ofSeconds(60));
        assertEquals(1, stale.exitValue(), stale.stderr());
        assertEquals(List.of("forkserver: " + SOURCE + " is newer than the jars, which this user may not rebuild;"
                + " rebuild them: cd " + copy + " && mvn -DskipTests package"), stale.stderrLines());
        assertEquals("", stale.stdout(), "the old code did not run");
    }

    /** What bin/supervisor needs of the project, copied, readable by all and writable by root only. */
    private static Path installedCopy(Path directory) throws IOException {
        Path home = Project.home();
        Path copy = directory.resolve("forkserver");
        for (String file : List.of("bin/supervisor", "bin/worker", "bin/lib/common.sh", "worker/jvm.options",
                "supervisor/target/forkserver-supervisor.jar", "worker/target/forkserver-worker.jar",
                "posix/target/forkserver-posix.jar", SOURCE)) {
            Path target = copy.resolve(file);
            Files.createDirectories(target.getParent());
            Files.copy(home.resolve(file), target, StandardCopyOption.COPY_ATTRIBUTES);
        }
        try (Stream<Path> libs = Files.list(home.resolve("supervisor/target/lib"))) {
            Files.createDirectories(copy.resolve("supervisor/target/lib"));
            for (Path lib : libs.toList()) {
                Files.copy(lib, copy.resolve("supervisor/target/lib").resolve(lib.getFileName()));
            }
        }
        Instant built = Instant.now().minusSeconds(60);
        for (String jar : List.of("supervisor/target/forkserver-supervisor.jar", "worker/target/forkserver-worker.jar",
                "posix/target/forkserver-posix.jar")) {
            Files.setLastModifiedTime(copy.resolve(jar), FileTime.from(built));
        }
        Files.setLastModifiedTime(copy.resolve(SOURCE), FileTime.from(built.minusSeconds(60)));
        try (Stream<Path> all = Files.walk(directory)) {
            for (Path path : all.toList()) {
                Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(
                        Files.isDirectory(path) || Files.isExecutable(path) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        assertTrue(Files.isExecutable(copy.resolve("bin/supervisor")));
        return copy;
    }
}
