package forkserver.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How many spares a supervisor has ready, read from its log: every {@code spare-ready} line, less
 * each that has since taken a connection ({@code start ... via=spare}), died idle
 * ({@code spare-exit ... was=ready}) or failed its hand-off ({@code handoff-failed}). The bench
 * waits for a full pool before each session of the spares model, so that it is measured as a
 * server with spares is meant to run.
 */
final class SparesLog {

    private SparesLog() {
    }

    static int ready(Path log) {
        List<String> lines;
        try {
            lines = Files.readAllLines(log);
        } catch (IOException e) {
            return 0;
        }
        int ready = 0;
        for (String line : lines) {
            if (line.startsWith("forkserver: spare-ready ")) {
                ready++;
            } else if (line.startsWith("forkserver: start ") && line.endsWith(" via=spare")
                    || line.startsWith("forkserver: spare-exit ") && line.contains(" was=ready ")
                    || line.startsWith("forkserver: handoff-failed ")) {
                ready--;
            }
        }
        return ready;
    }
}
