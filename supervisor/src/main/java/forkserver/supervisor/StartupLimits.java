package forkserver.supervisor;

import forkserver.supervisor.spawn.ChildUsers;
import forkserver.supervisor.base.Failures;
import forkserver.posix.ErrnoException;
import forkserver.posix.Posix;
import forkserver.supervisor.log.ChildStderr;
import forkserver.supervisor.log.EventLog;
import forkserver.supervisor.spawn.ChildProcess;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * At start-up, what the system lets this process have against what the configuration asks for:
 * {@code -c} children (and {@code --spares}) need heap, tasks — the user's {@code RLIMIT_NPROC} and
 * the cgroup's {@code pids.max} count every process and every thread — and descriptors. A
 * configuration that cannot be reached is said once, with the numbers; it is not refused, since
 * the limit may be shared and the load may never reach it, and when it is reached each spawn
 * that fails costs one connection ({@link Failures}).
 *
 * <p>Tasks per child: the child itself and, in the supervisor, the JDK's reaper thread that
 * waits for it; forkserver's worker is a JVM of {@link #WORKER_THREADS} threads. Descriptors
 * per child: {@link #DESCRIPTORS_PER_CHILD} in the supervisor, its pidfd ({@link ChildProcess})
 * and the read end of its stderr pipe ({@link ChildStderr}); a spare adds its socketpair end.
 */
final class StartupLimits {

    /** Threads of one worker JVM with worker/jvm.options (measured: 13 with Temurin 25). */
    static final int WORKER_THREADS = 13;
    /** Threads the supervisor may still start after start-up (signal handlers, the reaper, hand-offs, timers). */
    static final int SUPERVISOR_HEADROOM_THREADS = 8;
    /** The supervisor's heap without children, and what each child adds (measured: ~2 KiB, doubled for garbage). */
    static final long HEAP_BASE_KIB = 64 * 1024;
    static final long HEAP_PER_CHILD_KIB = 4;
    /** Descriptors kept free for accepting, hand-offs in flight and the JDK's pipes while it spawns. */
    static final int DESCRIPTOR_HEADROOM = 32;
    /** A child's descriptors in the supervisor: its pidfd and its stderr pipe's read end. */
    static final int DESCRIPTORS_PER_CHILD = 2;

    private StartupLimits() {
    }

    /** The needs of {@code config}, against what this process may have; logs each that cannot be met. */
    static void check(Config config, EventLog log) {
        boolean worker = config.spares() > 0 || config.command().contains("forkserver.worker.Launcher");
        long perChild = 1 + (worker ? WORKER_THREADS : 1); // the child's tasks, and our reaper thread for it
        long perSpare = 1 + WORKER_THREADS;
        long ownNow = threadsOf(Path.of("/proc/self"));
        long own = ownNow + SUPERVISOR_HEADROOM_THREADS;
        long tasks = own + config.maxChildren() * perChild + (long) config.spares() * perSpare;
        String taskDetail = "-c " + config.maxChildren() + " x " + perChild + " (" + (worker
                ? "a worker JVM's " + WORKER_THREADS + " threads" : "the child") + " and its reaper thread here)"
                + (config.spares() > 0 ? " + --spares " + config.spares() + " x " + perSpare : "")
                + " + " + own + " of the supervisor's own";

        int[] ids = Posix.effectiveIds();
        OptionalLong nproc = softLimit(Posix.RLIMIT_NPROC);
        if (ids[0] != 0 && nproc.isPresent()) { // root is not held to RLIMIT_NPROC
            long inUse = Math.max(0, tasksOfUser(realUid()) - ownNow);
            if (inUse + tasks > nproc.getAsLong()) {
                log.limitTooLow("tasks", "RLIMIT_NPROC", null, nproc.getAsLong(), inUse + tasks,
                        taskDetail + " + " + inUse + " of other processes of this user");
            }
        }
        PidsLimit pids = PidsLimit.ofThisProcess();
        long othersInCgroup = pids == null ? 0 : Math.max(0, pids.current() - ownNow);
        if (pids != null && othersInCgroup + tasks > pids.max()) {
            log.limitTooLow("tasks", "pids.max", pids.file().toString(), pids.max(), othersInCgroup + tasks,
                    taskDetail + " + " + othersInCgroup + " others in the cgroup now");
        }

        OptionalLong nofile = softLimit(Posix.RLIMIT_NOFILE);
        long open = openDescriptors();
        long descriptors = open + (long) (config.maxChildren() + config.spares()) * DESCRIPTORS_PER_CHILD
                + config.spares() + DESCRIPTOR_HEADROOM;
        if (nofile.isPresent() && descriptors > nofile.getAsLong()) {
            log.limitTooLow("descriptors", "RLIMIT_NOFILE", null, nofile.getAsLong(), descriptors,
                    "-c " + config.maxChildren() + " x " + DESCRIPTORS_PER_CHILD + " (a pidfd and a stderr pipe each)"
                            + (config.spares() > 0 ? " + --spares " + config.spares() + " x "
                            + (DESCRIPTORS_PER_CHILD + 1) : "")
                            + " + " + open + " open now + " + DESCRIPTOR_HEADROOM + " to work with");
        }

        ChildUsers.Range users = config.boxing().users();
        long uids = (long) config.maxChildren() + config.spares();
        if (users != null && users.size() < uids) {
            log.limitTooLow("uids", ChildUsers.OPTION, null, users.size(), uids, "-c " + config.maxChildren()
                    + (config.spares() > 0 ? " + --spares " + config.spares() : "") + ", a uid each: past the range's "
                    + users.size() + " connections are refused (reason child-user-range)");
        }

        long heapKiB = Runtime.getRuntime().maxMemory() / 1024;
        long heapNeeded = HEAP_BASE_KIB + (long) (config.maxChildren() + config.spares()) * HEAP_PER_CHILD_KIB;
        if (heapNeeded > heapKiB) {
            log.limitTooLow("heap", "-Xmx", null, heapKiB / 1024, heapNeeded / 1024,
                    "MiB: " + HEAP_BASE_KIB / 1024 + " of the supervisor's own + -c " + config.maxChildren() + " x "
                            + HEAP_PER_CHILD_KIB + " KiB; give FORKSERVER_JAVA_OPTS=-Xmx" + (heapNeeded / 1024 + 1) + "m");
        }
    }

    /** The cgroup's {@code pids.max} and {@code pids.current}, v2 or v1; null without a limit. */
    record PidsLimit(Path file, long max, long current) {

        static PidsLimit ofThisProcess() {
            for (Path directory : cgroupDirectories()) {
                Path max = directory.resolve("pids.max");
                try {
                    String value = Files.readString(max).strip();
                    if (!value.equals("max")) {
                        long current = Long.parseLong(Files.readString(directory.resolve("pids.current")).strip());
                        return new PidsLimit(max, Long.parseLong(value), current);
                    }
                } catch (IOException | NumberFormatException e) {
                    // no pids controller here
                }
            }
            return null;
        }

        /** Where this process's cgroup may keep pids.max: the unified hierarchy's, then v1's pids controller's. */
        private static List<Path> cgroupDirectories() {
            String v2 = null;
            String v1 = null;
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                    String[] fields = line.split(":", 3);
                    if (fields.length == 3 && fields[0].equals("0") && fields[1].isEmpty()) {
                        v2 = fields[2];
                    } else if (fields.length == 3 && List.of(fields[1].split(",")).contains("pids")) {
                        v1 = fields[2];
                    }
                }
            } catch (IOException e) {
                return List.of();
            }
            List<Path> candidates = new ArrayList<>();
            if (v2 != null) {
                candidates.add(Path.of("/sys/fs/cgroup" + v2));
                candidates.add(Path.of("/sys/fs/cgroup/unified" + v2));
            }
            if (v1 != null) {
                candidates.add(Path.of("/sys/fs/cgroup/pids" + v1));
            }
            return candidates;
        }
    }

    private static OptionalLong softLimit(int resource) {
        try {
            long soft = Posix.getrlimit(resource)[0];
            return soft == Posix.RLIM_INFINITY ? OptionalLong.empty() : OptionalLong.of(soft);
        } catch (ErrnoException e) {
            return OptionalLong.empty();
        }
    }

    /** The tasks (processes' threads) running as {@code uid}, which RLIMIT_NPROC counts. */
    private static long tasksOfUser(long uid) {
        long tasks = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"),
                entry -> entry.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path entry : entries) {
                String status = status(entry);
                if (status != null && uidOf(status) == uid) {
                    tasks += field(status, "Threads:");
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return tasks;
    }

    private static long realUid() {
        String status = status(Path.of("/proc/self"));
        return status == null ? -1 : uidOf(status);
    }

    private static long threadsOf(Path process) {
        String status = status(process);
        return status == null ? 1 : field(status, "Threads:");
    }

    private static long openDescriptors() {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            long count = 0;
            for (Path ignored : fds) {
                count++;
            }
            return count;
        } catch (IOException e) {
            return 0;
        }
    }

    private static String status(Path process) {
        try (InputStream in = Files.newInputStream(process.resolve("status"))) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null; // exited while we looked
        }
    }

    /** The real uid: the first number of the {@code Uid:} line. */
    private static long uidOf(String status) {
        return field(status, "Uid:");
    }

    private static long field(String status, String name) {
        for (String line : status.split("\n")) {
            if (line.startsWith(name)) {
                return Long.parseLong(line.substring(name.length()).strip().split("\\s+")[0]);
            }
        }
        return 0;
    }
}
