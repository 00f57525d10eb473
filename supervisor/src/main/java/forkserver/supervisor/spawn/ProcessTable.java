package forkserver.supervisor.spawn;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One reading of {@code /proc}: which process is whose parent. Stopping a child means stopping
 * what it started too; the JDK's {@code ProcessHandle.descendants()} scans all of /proc for
 * every call, so stopping 1000 children that way reads /proc a thousand times. Read once here,
 * the descendants of every child come from memory.
 */
public final class ProcessTable {

    private static final Path PROC = Path.of("/proc");

    private final Map<Long, List<Long>> childrenOf;

    private ProcessTable(Map<Long, List<Long>> childrenOf) {
        this.childrenOf = childrenOf;
    }

    /** Every process's parent, as /proc shows them now. */
    public static ProcessTable read() {
        Map<Long, List<Long>> childrenOf = new HashMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC, ProcessTable::isPid)) {
            for (Path entry : entries) {
                long parent = parentOf(entry);
                if (parent > 0) {
                    childrenOf.computeIfAbsent(parent, key -> new ArrayList<>())
                            .add(Long.parseLong(entry.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            // No /proc: nobody's descendants can be found; the children themselves are still signalled.
        }
        return new ProcessTable(childrenOf);
    }

    /** Every process below {@code pid} (its children, theirs, ...), nearest first; not {@code pid} itself. */
    public List<Long> descendantsOf(long pid) {
        List<Long> found = new ArrayList<>();
        Deque<Long> next = new ArrayDeque<>(childrenOf.getOrDefault(pid, List.of()));
        while (!next.isEmpty()) {
            long process = next.removeFirst();
            found.add(process);
            next.addAll(childrenOf.getOrDefault(process, List.of()));
        }
        return found;
    }

    /**
     * The processes the calling thread started and that nobody has reaped yet
     * ({@code /proc/thread-self/children}); null when the kernel does not offer the file
     * (CONFIG_PROC_CHILDREN), and then {@link #read()} answers for the whole process instead.
     */
    public static List<Long> childrenOfThisThread() {
        try (InputStream in = Files.newInputStream(Path.of("/proc/thread-self/children"))) {
            List<Long> pids = new ArrayList<>();
            for (String word : new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+")) {
                if (!word.isEmpty()) {
                    pids.add(Long.parseLong(word));
                }
            }
            return pids;
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    /** The children of {@code pid} in this table. */
    public List<Long> childrenOf(long pid) {
        return List.copyOf(childrenOf.getOrDefault(pid, List.of()));
    }

    private static boolean isPid(Path entry) {
        String name = entry.getFileName().toString();
        return !name.isEmpty() && name.chars().allMatch(Character::isDigit);
    }

    /** The parent pid from {@code /proc/PID/stat} ("pid (comm) state ppid ..."), or -1 if it is gone. */
    private static long parentOf(Path entry) {
        try (InputStream in = Files.newInputStream(entry.resolve("stat"))) {
            String stat = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            // comm may hold blanks and parentheses: the fields start after the last ')'.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 3);
            return Long.parseLong(fields[1]);
        } catch (IOException | RuntimeException e) {
            return -1; // exited while we looked
        }
    }
}
