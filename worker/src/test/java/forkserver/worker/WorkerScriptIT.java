package forkserver.worker;

import forkserver.testkit.Command;
import forkserver.testkit.Project;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bin/worker started by hand, where fd 0 is not a connection. */
class WorkerScriptIT {

    @Test
    void aPipeOnStdinIsRefusedWithOneLine() {
        Command.Result result = Command.run(List.of(Project.bin("worker")), "hello\n", Duration.ofSeconds(60));
        assertFalse(result.killedByWatchdog());
        assertEquals(Launcher.EXIT_USAGE, result.exitValue(), result.stderr());
        assertEquals(List.of("forkserver worker: fd 0 is a pipe, not a connected TCP socket; run the worker under"
                + " bin/supervisor, inetd (nowait) or systemd socket activation (Accept=yes)"), result.stderrLines());
        assertEquals("", result.stdout());
    }

    @Test
    void aBadLogSettingIsRefusedWithOneLine() {
        Command.Result result = Command.run(List.of(Project.bin("worker")), "", Duration.ofSeconds(60),
                Map.of("FORKSERVER_WORKER_LOG", "loud"));
        assertEquals(Launcher.EXIT_USAGE, result.exitValue(), result.stderr());
        assertEquals(List.of("forkserver worker: FORKSERVER_WORKER_LOG='loud': expected drop or syslog"),
                result.stderrLines());
    }

    @Test
    void devNullOnStdinIsRefused() throws Exception {
        Process worker = new ProcessBuilder(Project.bin("worker"))
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        worker.getOutputStream().close();
        assertTrue(worker.waitFor(60, TimeUnit.SECONDS));
        String stderr = new String(worker.getErrorStream().readAllBytes());
        assertEquals(Launcher.EXIT_USAGE, worker.exitValue());
        assertTrue(stderr.startsWith("forkserver worker: fd 0 is /dev/null, not a connected TCP socket"), stderr);
    }
}
