package forkserver.supervisor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Finds COMMAND before serving, so that a typo is a usage error and not a failure per connection. */
final class Commands {

    private Commands() {
    }

    /** {@code command} with its program made an absolute path (searched on {@code path} when bare). */
    static List<String> resolve(List<String> command, String path) {
        String program = command.getFirst();
        Path found = null;
        if (program.contains("/")) {
            Path candidate = Path.of(program).toAbsolutePath();
            if (isExecutable(candidate)) {
                found = candidate;
            }
        } else if (path != null) {
            for (String directory : path.split(":")) {
                Path candidate = Path.of(directory.isEmpty() ? "." : directory, program).toAbsolutePath();
                if (isExecutable(candidate)) {
                    found = candidate;
                    break;
                }
            }
        }
        if (found == null) {
            throw new IllegalArgumentException("command not found or not executable: " + program);
        }
        List<String> resolved = new ArrayList<>(command);
        resolved.set(0, found.toString());
        return resolved;
    }

    private static boolean isExecutable(Path candidate) {
        return Files.isRegularFile(candidate) && Files.isExecutable(candidate);
    }
}
