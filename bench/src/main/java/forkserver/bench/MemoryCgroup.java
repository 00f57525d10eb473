package forkserver.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A memory cgroup around one server and everything it starts, so that the bench reads what the
 * kernel charges for it: user pages as PSS counts them, and also what PSS never sees, each task's
 * kernel stack, its task_struct, page tables, socket and file structures (v1's
 * {@code memory.usage_in_bytes} counts kernel memory too). The server enters it before it
 * exec()s ({@link #wrap}), so every child it starts is in it from birth.
 *
 * <p>v1 (a {@code memory} hierarchy at /sys/fs/cgroup/memory, as on this project's machine) or v2
 * with the memory controller enabled for the root's children; {@link #create} returns null where
 * neither is writable (not root, or no such hierarchy), and the figure is "n/a".
 *
 * <p>Every cgroup created is removed: by {@link #close} once the server is gone, and by a
 * shutdown hook (which first kills what is still inside) should the bench end another way.
 */
final class MemoryCgroup implements AutoCloseable {

    private static final Path V1 = Path.of("/sys/fs/cgroup/memory");
    private static final Path V2 = Path.of("/sys/fs/cgroup");
    /** How long a stopped server's processes may take to leave; then they are killed. */
    private static final Duration EMPTY = Duration.ofSeconds(5);
    /**
     * The kernel charges a cgroup in batches of 64 pages per CPU and reads the counter without
     * draining them ({@code MEMCG_CHARGE_BATCH}): the counter is exact only to that much per CPU.
     */
    static final long CHARGE_BATCH_KIB = 64 * 4;

    private static final Set<MemoryCgroup> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(MemoryCgroup::killAndRemove), "remove-cgroups"));
    }

    private final Path directory;
    private final String usageFile;

    private MemoryCgroup(Path directory, String usageFile) {
        this.directory = directory;
        this.usageFile = usageFile;
    }

    /** A new memory cgroup named {@code forkserver-bench-PID-NAME}, or null where none can be made. */
    static MemoryCgroup create(String name) {
        String leaf = "forkserver-bench-" + ProcessHandle.current().pid() + "-" + name;
        if (Files.isWritable(V1.resolve("cgroup.procs"))) {
            return make(V1.resolve(leaf), "memory.usage_in_bytes");
        }
        try {
            if (Files.readAllLines(V2.resolve("cgroup.subtree_control")).toString().contains("memory")) {
                return make(V2.resolve(leaf), "memory.current");
            }
        } catch (IOException e) {
            // no v2 root, or not readable: none
        }
        return null;
    }

    private static MemoryCgroup make(Path directory, String usageFile) {
        try {
            Files.createDirectory(directory);
        } catch (IOException e) {
            return null; // not root, or a read-only hierarchy
        }
        MemoryCgroup cgroup = new MemoryCgroup(directory, usageFile);
        LIVE.add(cgroup);
        return cgroup;
    }

    /** Where neither hierarchy can be written: said in the report instead of the figures. */
    static String unavailable() {
        return "no writable memory cgroup (v1 at " + V1 + ", or v2 with the memory controller at " + V2
                + "; the bench must run as root)";
    }

    /**
     * {@code command} run by a shell that first raises its descriptor limit to {@code descriptors}
     * (or to the hard limit, for a user who may not raise it) and enters this cgroup, then exec()s
     * it: the same pid, the same process group, in the cgroup before its first page.
     */
    static List<String> wrap(MemoryCgroup cgroup, int descriptors, List<String> command) {
        String enter = cgroup == null ? "" : " && echo $$ > \"$0\"";
        String script = "{ ulimit -n " + descriptors + " 2>/dev/null || ulimit -n \"$(ulimit -H -n)\"; }" + enter + " && exec \"$@\"";
        List<String> wrapped = new ArrayList<>(List.of("/bin/sh", "-c", script,
                cgroup == null ? "sh" : cgroup.directory.resolve("cgroup.procs").toString()));
        wrapped.addAll(command);
        return wrapped;
    }

    /** What the kernel charges the cgroup now, in KiB. */
    long usageKiB() {
        try {
            return Long.parseLong(Files.readAllLines(directory.resolve(usageFile)).getFirst().strip()) / 1024;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + directory.resolve(usageFile), e);
        }
    }

    Path directory() {
        return directory;
    }

    /** Waits (bounded) for the cgroup to empty once its server is stopped, then removes it. */
    @Override
    public void close() {
        long deadline = System.nanoTime() + EMPTY.toNanos();
        while (!members().isEmpty() && System.nanoTime() < deadline) {
            pause();
        }
        killAndRemove();
    }

    /** Kills what is still inside (a server the bench could not stop), then removes the cgroup. */
    private void killAndRemove() {
        long deadline = System.nanoTime() + EMPTY.toNanos();
        List<Long> members;
        while (!(members = members()).isEmpty() && System.nanoTime() < deadline) {
            members.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
            pause();
        }
        try {
            // Deepest first: a supervisor killed before it removed its connections' boxes leaves
            // them inside this cgroup, and a cgroup with children cannot be removed.
            for (Path cgroup : cgroups().reversed()) {
                Files.deleteIfExists(cgroup); // rmdir: the kernel takes a cgroup's files with it
            }
            LIVE.remove(this);
        } catch (IOException | UncheckedIOException e) {
            System.err.println("bench: could not remove the cgroup " + directory + ": " + e.getMessage());
        }
    }

    /** This cgroup and every cgroup below it, parents before their children. */
    private List<Path> cgroups() {
        try (Stream<Path> tree = Files.walk(directory)) {
            return tree.filter(Files::isDirectory).toList();
        } catch (IOException | UncheckedIOException e) {
            return List.of(directory);
        }
    }

    /** The processes in this cgroup and in every cgroup below it (a supervisor's boxes). */
    private List<Long> members() {
        List<Long> pids = new ArrayList<>();
        for (Path cgroup : cgroups()) {
            try {
                Files.readAllLines(cgroup.resolve("cgroup.procs")).stream()
                        .filter(l -> !l.isBlank()).map(l -> Long.parseLong(l.strip())).forEach(pids::add);
            } catch (IOException | NumberFormatException e) {
                // gone meanwhile
            }
        }
        return pids;
    }

    private static void pause() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
