package forkserver.supervisor;

import forkserver.testkit.Command;
import forkserver.testkit.EchoClient;
import forkserver.testkit.Project;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The worker's AOT cache: used by default; a broken or missing one only costs speed. */
class AotCacheIT {

    @Test
    void theBuildMadeACacheAndTheWorkerUsesIt() {
        Path cache = Project.home().resolve("worker/target/forkserver-worker.aot");
        assertTrue(Files.isRegularFile(cache), "the build trains " + cache);
        Command.Result printed = Command.run(List.of(Project.bin("worker"), "--print-command"), "", Duration.ofSeconds(60));
        assertEquals(0, printed.exitValue(), printed.stderr());
        assertTrue(List.of(printed.stdout().split("\0")).contains("-XX:AOTCache=" + cache), printed.stdout());
    }

    @Test
    void aBrokenCacheCostsNoConnectionAndNoByteOnIt(@TempDir Path dir) throws IOException {
        Path garbage = Files.write(dir.resolve("broken.aot"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertSessionsWork(Map.of("FORKSERVER_WORKER_AOT_CACHE", garbage.toString()), true);
    }

    @Test
    void withoutACacheTheWorkerStillServes() {
        assertSessionsWork(Map.of("FORKSERVER_WORKER_AOT_CACHE", "none"), false);
    }

    /**
     * Under {@code --stdio inout} the worker's fd 1 is the client: a JVM complaint about the
     * cache on stdout would reach it. Each client reads exactly the protocol, while the
     * complaint (for a broken cache) is on the supervisor's stderr, where the worker's goes.
     */
    private static void assertSessionsWork(Map<String, String> environment, boolean complaintExpected) {
        try (ServerProcess supervisor = ServerProcess.supervisor(environment, "--listen", "127.0.0.1:0",
                "--stdio", "inout")) {
            for (int i = 0; i < 3; i++) {
                try (EchoClient client = EchoClient.connect(supervisor.awaitListening())) {
                    assertEquals("hello " + i, client.roundTrip("hello " + i));
                    assertEquals("bye!", client.roundTrip("done"));
                    assertEquals("", client.readToEnd(), "nothing but the protocol on the client's socket");
                }
            }
            supervisor.awaitMatches(Pattern.compile("end pid=\\d+ status=0"), 3);
            if (complaintExpected) {
                supervisor.awaitMatch(Pattern.compile("\\[aot] .*AOT cache"));
            }
            assertEquals(List.of(), supervisor.stdout(), "nothing on the supervisor's stdout");
        }
    }
}
