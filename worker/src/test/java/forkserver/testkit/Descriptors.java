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

    /**
     * The descriptors of {@code pid} that are sockets but neither a listening TCP socket nor a
     * UNIX, UDP or netlink socket: connections, or what is left of them (CLOSE_WAIT, or a socket
     * fully closed by both peers, which the kernel no longer lists in /proc/net/tcp but which
     * the descriptor keeps), as number → {@code socket:[inode]}. A supervisor between sessions
     * has none: its listeners (and a metrics endpoint's) and its UNIX sockets are all it holds.
     */
    public static Map<Integer, String> connections(long pid) throws IOException {
        Set<String> notConnections = new HashSet<>();
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            for (String[] fields : rows(table)) {
                if (fields[3].equals(TCP_LISTEN)) {
                    notConnections.add("socket:[" + fields[9] + "]");
                }
            }
        }
        for (String table : new String[] {"/proc/net/udp", "/proc/net/udp6", "/proc/net/netlink"}) {
            for (String[] fields : rows(table)) {
                notConnections.add("socket:[" + fields[9] + "]");
            }
        }
        for (String[] fields : rows("/proc/net/unix")) {
            notConnections.add("socket:[" + fields[6] + "]");
        }
        Map<Integer, String> connections = new TreeMap<>();
        of(pid).forEach((fd, target) -> {
            if (target.startsWith("socket:[") && !notConnections.contains(target)) {
                connections.put(fd, target);
            }
        });
        return connections;
    }

    /** The rows of a /proc/net table, split on blanks, without the header. */
    private static List<String[]> rows(String table) throws IOException {
        Path path = Path.of(table);
        if (!Files.exists(path)) {
            return List.of();
        }
        List<String> lines = Files.readAllLines(path);
        return lines.subList(1, lines.size()).stream().map(line -> line.trim().split("\\s+")).toList();
    }

    /** The state column of /proc/net/tcp for a listening socket (the kernel's TCP_LISTEN, 10). */
    private static final String TCP_LISTEN = "0A";
}
