package forkserver.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.DirectoryStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What a server's whole process tree (the server and every descendant) uses now, read from
 * {@code /proc}. A process that exits between listing and reading is skipped.
 */
public final class ProcessTree {

    /** /proc/PID/stat counts CPU time in USER_HZ ticks, 100 a second on Linux whatever the kernel's HZ. */
    private static final long MILLIS_PER_TICK = 10;

    /** Memory of the tree in KiB: PSS shares each shared page among its users, RSS counts it in each. */
    public record Memory(long pssKiB, long rssKiB, int processes) {
    }

    private ProcessTree() {
    }

    /** The process and its descendants. */
    public static List<Long> pids(long root) {
        return ProcessHandle.of(root).stream()
                .flatMap(p -> Stream.concat(Stream.of(p), p.descendants()))
                .map(ProcessHandle::pid).toList();
    }

    /** Descendants only: a process-per-connection server's live children (and theirs). */
    public static long descendants(long root) {
        return descendants(List.of(root)).get(root);
    }

    /**
     * The descendants of each of {@code roots}, from one reading of /proc (ProcessHandle's
     * {@code descendants()} reads all of it for every root).
     */
    public static Map<Long, Long> descendants(List<Long> roots) {
        Map<Long, List<Long>> children = new HashMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"),
                entry -> entry.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path entry : entries) {
                List<String> stat = read(entry.resolve("stat"));
                if (!stat.isEmpty()) {
                    String line = stat.getFirst();
                    long parent = Long.parseLong(line.substring(line.lastIndexOf(')') + 2).split(" ", 3)[1]);
                    children.computeIfAbsent(parent, p -> new ArrayList<>()).add(Long.parseLong(entry.getFileName().toString()));
                }
            }
        } catch (IOException | RuntimeException e) {
            // no /proc: nobody has descendants
        }
        Map<Long, Long> counts = new HashMap<>();
        for (long root : roots) {
            long count = 0;
            Deque<Long> next = new ArrayDeque<>(children.getOrDefault(root, List.of()));
            while (!next.isEmpty()) {
                long pid = next.removeFirst();
                count++;
                next.addAll(children.getOrDefault(pid, List.of()));
            }
            counts.put(root, count);
        }
        return counts;
    }

    /** Sums {@code Pss:} and {@code Rss:} of /proc/PID/smaps_rollup over the tree. */
    public static Memory memory(long root) {
        long pss = 0;
        long rss = 0;
        int processes = 0;
        for (long pid : pids(root)) {
            Map<String, Long> rollup = smapsRollup(pid);
            if (rollup.isEmpty()) {
                continue;
            }
            processes++;
            pss += rollup.getOrDefault("Pss", 0L);
            rss += rollup.getOrDefault("Rss", 0L);
        }
        return new Memory(pss, rss, processes);
    }

    /**
     * One process's {@code /proc/PID/smaps_rollup}: each size in KiB by its field's name
     * ({@code Pss}, {@code Rss}, {@code Private_Dirty}, ...); empty when the process is gone.
     */
    public static Map<String, Long> smapsRollup(long pid) {
        Map<String, Long> sizes = new HashMap<>();
        for (String line : read(Path.of("/proc", Long.toString(pid), "smaps_rollup"))) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.endsWith(" kB")) { // the first line names the range, not a size
                sizes.put(line.substring(0, colon), kib(line));
            }
        }
        return sizes;
    }

    /** The threads of the tree: every process's {@code Threads:} from /proc/PID/status. */
    public static long threads(long root) {
        return pids(root).stream().mapToLong(ProcessTree::threadsOf).sum();
    }

    /** One process's threads, 0 when it is gone. */
    public static long threadsOf(long pid) {
        return read(Path.of("/proc", Long.toString(pid), "status")).stream().filter(l -> l.startsWith("Threads:"))
                .mapToLong(ProcessTree::kib).findFirst().orElse(0);
    }

    /**
     * CPU time (user + system) of the tree in milliseconds, children it has reaped included: each
     * live process's utime + stime, plus its cutime + cstime, which the kernel adds up for every
     * child the process waited for (the supervisor's JDK reaper waits for each worker).
     */
    public static long cpuMillis(long root) {
        long ticks = 0;
        for (long pid : pids(root)) {
            List<String> lines = read(Path.of("/proc", Long.toString(pid), "stat"));
            if (lines.isEmpty()) {
                continue;
            }
            // Fields after "(comm)", which may hold blanks: state is field 3, utime 14 ... cstime 17.
            String stat = lines.getFirst();
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            for (int field = 14; field <= 17; field++) {
                ticks += Long.parseLong(fields[field - 3]);
            }
        }
        return ticks * MILLIS_PER_TICK;
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    private static List<String> read(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            return List.of(); // the process is gone
        }
    }
}
