package forkserver.supervisor;

import forkserver.testkit.Command;
import forkserver.testkit.Project;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fresh clone's first {@code bin/supervisor} builds the jars with Maven, and what a person sees
 * on the terminal is plain text: no raw escape sequence (Maven's console library writes colour
 * resets to a terminal unless told not to). The terminal is a real pseudo-terminal from
 * util-linux's {@code script}, so Maven sees what it sees when a person runs the script.
 */
class FirstUseBuildIT {

    private static final Path SCRIPT = Path.of("/usr/bin/script");

    @Test
    void theFirstUseBuildPrintsNoTerminalEscapes(@TempDir Path clone) throws IOException {
        assertTrue(Files.isExecutable(SCRIPT), "script(1) is not installed: apt-get install util-linux");
        copyCheckout(clone);
        Path typescript = clone.resolve("typescript");
        Command.Result run = Command.run(List.of(SCRIPT.toString(), "--quiet", "--return", "--command",
                clone.resolve("bin/supervisor") + " --version", typescript.toString()), "", Duration.ofMinutes(10));
        assertFalse(run.killedByWatchdog(), "the first-use build did not finish");
        String terminal = Files.readString(typescript, StandardCharsets.UTF_8);
        assertEquals(0, run.exitValue(), terminal);
        assertTrue(terminal.contains("forkserver: building the jars (first use)..."), terminal);
        assertTrue(terminal.matches("(?s).*\nforkserver \\S+\r?\n.*"), "then the version: " + terminal);
        assertFalse(terminal.contains("\u001b"), "an escape sequence reached the terminal: "
                + terminal.replace("\u001b", "<ESC>"));
        assertTrue(Files.isRegularFile(clone.resolve("supervisor/target/forkserver-supervisor.jar")));
    }

    /** The checkout as a fresh clone of it would be: tracked and new files, no build output. */
    private static void copyCheckout(Path clone) throws IOException {
        Path home = Project.home();
        Command.Result files = Command.run(List.of("git", "-C", home.toString(), "ls-files", "-z", "--cached", "--others",
                "--exclude-standard"), "", Duration.ofMinutes(1));
        assertEquals(0, files.exitValue(), files.stderr());
        for (String file : files.stdout().split("\0")) {
            Path source = home.resolve(file);
            if (file.isEmpty() || !Files.isRegularFile(source)) {
                continue; // deleted in the working tree
            }
            Path target = clone.resolve(file);
            Files.createDirectories(target.getParent());
            Files.copy(source, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        }
    }
}
