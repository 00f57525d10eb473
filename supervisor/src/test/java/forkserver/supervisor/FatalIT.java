package forkserver.supervisor;

import forkserver.testkit.EchoClient;
import forkserver.testkit.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a failure of the supervisor itself costs: not a live process that has stopped serving,
 * but one log line, the drain, and exit status 1 for the service manager to restart it. The
 * failure here is real: the supervisor's heap is too small for the rules file SIGHUP asks it to
 * read, so its signal thread dies of OutOfMemoryError.
 */
class FatalIT {

    @Test
    void aFailureOfTheSupervisorsOwnJvmEndsItWithALogLineADrainAndStatusOne(@TempDir Path dir) throws IOException {
        Path rules = Files.writeString(dir.resolve("rules"), "allow 127.0.0.1\n");
        try (ServerProcess supervisor = ServerProcess.supervisor(Map.of("FORKSERVER_JAVA_OPTS", "-Xmx24m"),
                "--listen", "127.0.0.1:0", "--rules", rules.toString(), "--shutdown-grace", "30s",
                "--stdio", "inout", "--", "/bin/cat");
             EchoClient session = EchoClient.connect(supervisor.awaitListening())) {
            assertEquals("held", session.roundTrip("held"));
            // Within the rules file's 1 MiB, lines of 60 variables each: some 200,000 of them,
            // each a map entry and two strings, are more than the 24 MiB heap holds.
            StringBuilder variables = new StringBuilder();
            for (int v = 0; v < 60; v++) {
                variables.append(' ').append((char) ('A' + v / 26)).append((char) ('A' + v % 26)).append("=x");
            }
            try (Writer huge = Files.newBufferedWriter(dir.resolve("rules.new"))) {
                long written = 0;
                for (int i = 0; ; i++) {
                    String line = "allow 10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255) + variables + "\n";
                    if (written + line.length() > forkserver.supervisor.admit.RuleFile.MAX_BYTES) {
                        break;
                    }
                    huge.write(line);
                    written += line.length();
                }
            }
            Files.move(dir.resolve("rules.new"), rules, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            supervisor.signal("HUP");

            supervisor.awaitMatch(Pattern.compile("fatal where=\"SIGHUP handler\" reason=out-of-memory detail=\"java.lang.OutOfMemoryError"));
            supervisor.awaitMatch(Pattern.compile("stopping reason=fatal children=1 grace=30\\.000s"));
            // The drain: the session may still finish within the grace.
            assertEquals("still served", session.roundTrip("still served"));
            session.shutdownOutput();
            assertEquals("", session.readToEnd());
            assertEquals(Main.EXIT_FAILURE, supervisor.awaitExit(Duration.ofSeconds(60)));
            List<String> log = supervisor.stderr();
            assertEquals("forkserver: stopped", log.getLast());
            assertFalse(log.stream().anyMatch(line -> line.startsWith("Exception in thread")), "no stack trace: " + log);
            assertTrue(log.stream().anyMatch(line -> line.startsWith("forkserver: end pid=")), "the child's end");
        }
    }
}
