package forkserver.supervisor;

import forkserver.testkit.Command;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code --user}/{@code --group}: after binding, the supervisor and its children run as that user. */
class PrivilegesIT {

    private static final String NOBODY = "65534";

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    @Test
    void asRootTheChildRunsAsTheGivenUser() throws IOException {
        assumeTrue(root(), "dropping privileges needs root");
        try (ServerProcess supervisor = ServerProcess.supervisor("--listen", "127.0.0.1:0", "--user", "nobody",
                "--stdio", "inout", "--", "/bin/sh", "-c", "echo \"$(id -u) $(id -g) $(id -G)\"");
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals(NOBODY + " " + NOBODY + " " + NOBODY, client.readLine(), "uid, gid and groups of the child");
            String status = Files.readString(Path.of("/proc/" + supervisor.pid() + "/status"));
            assertTrue(status.lines().anyMatch(line -> line.matches("Uid:\\s+65534\\s+65534\\s+65534\\s+65534")),
                    "the supervisor itself: " + status);
        }
    }

    @Test
    void withoutRootTheSupervisorRefusesToStart() {
        List<String> command = new ArrayList<>();
        if (root()) {
            // Run it unprivileged (util-linux's setpriv), where setgroups is refused.
            command.addAll(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "--"));
        }
        command.addAll(List.of(Project.bin("supervisor"), "--listen", "127.0.0.1:0", "--user", "nobody"));
        Command.Result result = Command.run(command, "", Duration.ofSeconds(60));
        assertEquals(Main.EXIT_FAILURE, result.exitValue(), result.stderr());
        assertTrue(result.stderr().contains("forkserver: cannot drop privileges to user nobody:"
                + " setgroups: Operation not permitted"), result.stderr());
        assertEquals(1, result.stderrLines().size(), result.stderr());
    }

    /** The rules are read as the user every reload will read them as: one only root may read is refused at start. */
    @Test
    void aRulesFileOnlyRootMayReadIsRefusedAtStart(@org.junit.jupiter.api.io.TempDir Path directory) throws IOException {
        assumeTrue(root(), "dropping privileges needs root");
        Files.setPosixFilePermissions(directory, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path rules = Files.writeString(directory.resolve("rules"), "allow 127.0.0.1\n");
        Files.setPosixFilePermissions(rules, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Command.Result result = Command.run(List.of(Project.bin("supervisor"), "--listen", "127.0.0.1:0", "--user", "nobody",
                "--rules", rules.toString()), "", Duration.ofSeconds(60));
        assertEquals(Main.EXIT_USAGE, result.exitValue(), result.stderr());
        assertEquals(List.of("forkserver: --rules, read as the user the supervisor runs as: " + rules
                + ": cannot open: Permission denied (see --help)"), result.stderrLines());
    }
}
