package forkserver.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** What a process holds open, from /proc: to check that no descriptor leaks into a child. */
public final class Descriptors {

    private Descriptors() {
    }

    /** A process's open descriptors: number → what /proc/PID/fd links to ({@code socket:[inode]}, a path). */
    public static Map<Integer, String> of(long pid) throws IOException {
        Map<Integer, String> fds = new TreeMap<>();
        try (var entries = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path entry : entries.toList()) {
                try {
                    fds.put(Integer.parseInt(entry.getFileName().toString()), Files.readSymbolicLink(entry).toString());
                } catch (IOException e) {
                    // closed between listing and reading
                }
            }
        }
        return fds;
    }

    /** Every TCP socket of the machine, as {@code socket:[inode]} like /proc/PID/fd shows them. */
    public static Set<String> tcpSocketInodes() throws IOException {
        Set<String> inodes = new HashSet<>();
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            List<String> lines = Files.readAllLines(Path.of(table));
            for (String line : lines.subList(1, lines.size())) {
                inodes.add("socket:[" + line.trim().split("\\s+")[9] + "]");
            }
        }
        return inodes;
    }
}
