package forkserver.supervisor;

import forkserver.testkit.Command;
import forkserver.testkit.Deploy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The unit files in deploy/systemd pass systemd's own checker. */
class DeployFilesIT {

    private static final String SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";
    private static final List<String> UNITS = List.of(
            "forkserver.socket", "forkserver.service", "forkserver-worker.socket", "forkserver-worker@.service");

    /**
     * {@code systemd-analyze verify} on copies whose paths point at this project (it checks that
     * ExecStart= is executable). Unknown or misspelt settings are only warnings to it, with exit
     * status 0: any output at all fails the test.
     */
    @Test
    void unitFilesPassSystemdAnalyzeVerify(@TempDir Path directory) throws IOException {
        Command.Result version = Files.isExecutable(Path.of(SYSTEMD_ANALYZE))
                ? Command.run(List.of(SYSTEMD_ANALYZE, "--version"), "", Duration.ofSeconds(60)) : null;
        assumeTrue(version != null && version.exitValue() == 0,
                "systemd-analyze cannot run on this machine (apt-get install systemd): "
                        + (version == null ? "not installed" : version.stderr()));
        List<String> command = new ArrayList<>(List.of(SYSTEMD_ANALYZE, "verify"));
        for (String unit : UNITS) {
            Path copy = directory.resolve(unit);
            Files.writeString(copy, Deploy.localized("systemd/" + unit));
            command.add(copy.toString());
        }
        Command.Result verify = Command.run(command, "", Duration.ofSeconds(120));
        assertFalse(verify.killedByWatchdog());
        assertEquals(0, verify.exitValue(), verify.stderr());
        assertEquals("", verify.stderr() + verify.stdout(), "no warning");
    }

    @Test
    void theSupervisorUnitPassesNoListenAndTheWorkerUnitKeepsStderrOffTheSocket() {
        String execStart = Deploy.localized("systemd/forkserver.service").lines()
                .filter(line -> line.startsWith("ExecStart=")).findFirst().orElseThrow();
        assertFalse(execStart.contains("--listen") || execStart.contains(" -l "),
                "the socket comes from forkserver.socket; --listen would be a usage error: " + execStart);
        assertTrue(Deploy.localized("systemd/forkserver-worker@.service").contains("\nStandardError=journal\n"));
        String supervisor = Deploy.localized("systemd/forkserver.service");
        for (String setting : List.of("Type=notify", "NotifyAccess=main", "WatchdogSec=30s", "SyslogIdentifier=forkserver",
                "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure")) {
            assertTrue(supervisor.contains("\n" + setting + "\n"), setting + " in forkserver.service");
        }
        assertTrue(Deploy.localized("systemd/forkserver-worker.socket").contains("\nAccept=yes\n"));
    }
}
