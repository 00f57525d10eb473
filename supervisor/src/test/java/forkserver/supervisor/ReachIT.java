package forkserver.supervisor;

import forkserver.testkit.Command;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Limited;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a child can reach of the supervisor when both run as the same unprivileged user, as the
 * shipped unit runs them (the supervisor started directly as that user, never root): each attack
 * a connection's program could make, made for real by the child, and refused.
 */
class ReachIT {

    /**
     * The child, as the supervisor's user: NoNewPrivs, and three ways into its parent — its
     * environment, a descriptor taken with pidfd_getfd (perl's syscall(), as no shell tool has
     * it), and the JDK's attach mechanism (jcmd).
     */
    private static final String ATTACKS = """
            sup=$PPID
            nnp=$(awk '/^NoNewPrivs:/ {print $2}' /proc/self/status)
            if cat /proc/$sup/environ >/dev/null 2>&1; then environ=read; else environ=refused; fi
            getfd=$(perl -e '$p = syscall(434, $ARGV[0] + 0, 0); if ($p < 0) { print "no-pidfd"; exit }
                $f = syscall(438, $p, 2, 0); print $f < 0 ? "refused" : "taken"' "$sup")
            if "$JAVA_HOME/bin/jcmd" -J-Dsun.tools.attach.attachTimeout=3000 "$sup" VM.version >/dev/null 2>&1
            then attach=attached; else attach=refused; fi
            echo "nnp=$nnp environ=$environ getfd=$getfd attach=$attach"
            """;

    @Test
    void aChildOfTheSameUserCannotReachIntoTheSupervisorNorGainPrivileges(@TempDir Path directory) throws IOException {
        assumeTrue(Limited.root(), "setpriv to another user needs root");
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path script = directory.resolve("attacks.sh");
        Files.writeString(script, ATTACKS);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> command = Limited.asUser(List.of(Project.bin("supervisor"), "--listen", "127.0.0.1:0",
                "--", "/bin/sh", script.toString()));
        try (ServerProcess supervisor = ServerProcess.start(command, java.util.Map.of());
             EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("nnp=1 environ=refused getfd=refused attach=refused", client.readLine());
            assertTrue(supervisor.isAlive());
        }
    }

    @Test
    void groupWithoutUserIsRefusedAsRoot() {
        assumeTrue(Limited.root(), "the check is for root");
        Command.Result result = Command.run(new ArrayList<>(List.of(Project.bin("supervisor"), "--listen", "127.0.0.1:0",
                "--group", "nogroup")), "", Duration.ofSeconds(60));
        assertEquals(Main.EXIT_USAGE, result.exitValue(), result.stderr());
        assertEquals(List.of("forkserver: --group nogroup without --user would leave the supervisor and its children"
                + " running as root: give --user too (see --help)"), result.stderrLines());
    }
}
